package web

import (
	"context"
	"io"

	"github.com/auditlog/auditlog/internal/alert"
	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/chat"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Application is what the console needs of the application layer;
// *app.App implements it. Each method's rules, errors and audit records
// are documented on app.App.
type Application interface {
	AuthenticateSession(ctx context.Context, token string) (*app.Principal, error)
	LimitReads(ctx context.Context, p *app.Principal) error

	Login(ctx context.Context, c app.Client, in app.Credentials) (*app.SignIn, error)
	VerifyMFA(ctx context.Context, c app.Client, in app.MFAVerification) (*app.SignIn, error)
	Logout(ctx context.Context, p *app.Principal, c app.Client) error

	// A user's own credentials: password and two-factor authentication.
	ChangePassword(ctx context.Context, p *app.Principal, c app.Client, in app.PasswordChange) (token string, err error)
	UserMFAStatus(ctx context.Context, p *app.Principal) (*app.MFAStatus, error)
	StartMFASetup(ctx context.Context, p *app.Principal, c app.Client, password string) (*app.MFASetup, error)
	ConfirmMFA(ctx context.Context, p *app.Principal, c app.Client, code string) (recoveryCodes []string, err error)
	DisableMFA(ctx context.Context, p *app.Principal, c app.Client, code string) error

	Account(ctx context.Context, p *app.Principal, id int64) (*audit.Account, error)
	AccountSecurity(ctx context.Context, p *app.Principal, id int64) (requireMFA bool, err error)
	SetAccountSecurity(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.SecurityChange) error

	Users(ctx context.Context, p *app.Principal) ([]*audit.User, error)
	CreateUser(ctx context.Context, p *app.Principal, c app.Client, in app.NewUser) (*audit.User, error)
	UpdateUser(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.UserChange) (*audit.User, error)

	APIKeys(ctx context.Context, p *app.Principal) ([]*audit.APIKey, error)
	CreateAPIKey(ctx context.Context, p *app.Principal, c app.Client, in app.NewAPIKey) (key string, k *audit.APIKey, err error)
	RevokeAPIKey(ctx context.Context, p *app.Principal, c app.Client, id int64) (*audit.APIKey, error)

	ListEvents(ctx context.Context, p *app.Principal, q app.EventQuery) (*app.EventList, error)
	Event(ctx context.Context, p *app.Principal, id int64) (*audit.Event, error)
	Export(ctx context.Context, p *app.Principal, c app.Client, req app.ExportRequest, start func(*app.Export) io.Writer) error

	// The account's streams, alert rules, retention and erasures.
	Streams(ctx context.Context, p *app.Principal) ([]*audit.Stream, error)
	Stream(ctx context.Context, p *app.Principal, id int64) (*audit.Stream, error)
	CreateStream(ctx context.Context, p *app.Principal, c app.Client, in app.NewStream) (*audit.Stream, string, error)
	UpdateStream(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.StreamChange) (*audit.Stream, error)
	PauseStream(ctx context.Context, p *app.Principal, c app.Client, id int64) (*audit.Stream, error)
	ResumeStream(ctx context.Context, p *app.Principal, c app.Client, id int64) (*audit.Stream, error)
	DeleteStream(ctx context.Context, p *app.Principal, c app.Client, id int64) error
	TestStream(ctx context.Context, p *app.Principal, id int64, encode func(*sqlstore.Checkpoint) ([]byte, error)) (*app.StreamTest, error)
	AlertRuleDefaults(ctx context.Context, p *app.Principal) ([]alert.Default, error)
	AlertRules(ctx context.Context, p *app.Principal) ([]*audit.AlertRule, error)
	AlertRule(ctx context.Context, p *app.Principal, id int64) (*audit.AlertRule, error)
	CreateAlertRule(ctx context.Context, p *app.Principal, c app.Client, in app.NewAlertRule) (*audit.AlertRule, error)
	UpdateAlertRule(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.AlertRulePatch) (*audit.AlertRule, error)
	DeleteAlertRule(ctx context.Context, p *app.Principal, c app.Client, id int64) error
	SetRetention(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.RetentionChange) (*audit.Account, error)
	CheckErasure(ctx context.Context, p *app.Principal, in app.ErasureRequest) error
	Erase(ctx context.Context, p *app.Principal, c app.Client, in app.ErasureRequest) (*audit.Erasure, error)
	Erasures(ctx context.Context, p *app.Principal) ([]*audit.Erasure, error)

	// The embedded viewer's.
	ExchangeViewerToken(ctx context.Context, c app.Client, token string) (session string, g *app.ViewerGrant, err error)
	AuthenticateViewer(ctx context.Context, session string) (*app.Principal, error)
	// ProveEvent serves the event page: the event as stored, with its
	// place in the log.
	ProveEvent(ctx context.Context, p *app.Principal, eventID, size int64) (*sqlstore.InclusionProof, error)
	Checkpoint(ctx context.Context, p *app.Principal, size int64) (*sqlstore.Checkpoint, error)
	VerifierKey() (key, name string)

	AnalyticsSummary(ctx context.Context, p *app.Principal, q app.AnalyticsQuery) (*app.Summary, error)
	AnalyticsSeries(ctx context.Context, p *app.Principal, q app.AnalyticsQuery) (*app.Series, error)
	AnalyticsTop(ctx context.Context, p *app.Principal, q app.AnalyticsQuery) (*app.Top, error)
	Origin(accountID int64) string

	// The chat page asks through chat.Assistant, which needs these; the
	// page lists and deletes the user's conversations itself.
	chat.Application
	ChatConversations(ctx context.Context, p *app.Principal) ([]*audit.ChatConversation, error)
	DeleteChatConversation(ctx context.Context, p *app.Principal, c app.Client, id int64) error
}

var _ Application = (*app.App)(nil)
