package server

import (
	"context"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
)

// Application is what the server needs of the application layer, by
// area; *app.App implements it. Each method's rules, errors and audit
// records are documented on app.App.
type Application interface {
	authenticator
	signIns
	mfaService
	accountService
	userService
	apiKeyService
	eventService
}

var _ Application = (*app.App)(nil)

// authenticator turns credentials into principals and draws the
// route-level rate-limit buckets.
type authenticator interface {
	AuthenticateSession(ctx context.Context, token string) (*app.Principal, error)
	AuthenticateKey(ctx context.Context, key string) (*app.Principal, error)
	LimitReads(ctx context.Context, p *app.Principal) error
	LimitIngest(ctx context.Context, p *app.Principal) error
}

type signIns interface {
	Login(ctx context.Context, c app.Client, in app.Credentials) (*app.SignIn, error)
	Logout(ctx context.Context, p *app.Principal, c app.Client) error
	ChangePassword(ctx context.Context, p *app.Principal, c app.Client, in app.PasswordChange) (token string, err error)
}

type mfaService interface {
	StartMFASetup(ctx context.Context, p *app.Principal, c app.Client, password string) (*app.MFASetup, error)
	ConfirmMFA(ctx context.Context, p *app.Principal, c app.Client, code string) (recoveryCodes []string, err error)
	DisableMFA(ctx context.Context, p *app.Principal, c app.Client, code string) error
	VerifyMFA(ctx context.Context, c app.Client, in app.MFAVerification) (*app.SignIn, error)
}

type accountService interface {
	SignUpOpen() error
	SignUp(ctx context.Context, c app.Client, in app.NewAccount) (*audit.Account, *audit.User, error)
	Account(ctx context.Context, p *app.Principal, id int64) (*audit.Account, error)
	AccountSecurity(ctx context.Context, p *app.Principal, id int64) (requireMFA bool, err error)
	SetAccountSecurity(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.SecurityChange) error
}

type userService interface {
	CreateUser(ctx context.Context, p *app.Principal, c app.Client, in app.NewUser) (*audit.User, error)
	Users(ctx context.Context, p *app.Principal) ([]*audit.User, error)
	UpdateUser(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.UserChange) (*audit.User, error)
}

type apiKeyService interface {
	CreateAPIKey(ctx context.Context, p *app.Principal, c app.Client, in app.NewAPIKey) (key string, k *audit.APIKey, err error)
	APIKeys(ctx context.Context, p *app.Principal) ([]*audit.APIKey, error)
	RevokeAPIKey(ctx context.Context, p *app.Principal, c app.Client, id int64) (*audit.APIKey, error)
}

type eventService interface {
	ListEvents(ctx context.Context, p *app.Principal, q app.EventQuery) (*app.EventList, error)
	PrepareEvents(ctx context.Context, p *app.Principal, ins []ingest.EventInput) ([]*audit.Event, error)
	RecordExport(ctx context.Context, p *app.Principal, c app.Client, filter map[string]string) error
}
