package server

import (
	"context"
	"io"

	"github.com/auditlog/auditlog/internal/alert"
	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/chat"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
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
	alertService
	eventService
	logService
	analyticsService
	chatService
	streamService
	erasureService
	platformService
	eventSchemaService
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
	SetRetention(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.RetentionChange) (*audit.Account, error)
}

type userService interface {
	CreateUser(ctx context.Context, p *app.Principal, c app.Client, in app.NewUser) (*audit.User, error)
	Users(ctx context.Context, p *app.Principal) ([]*audit.User, error)
	UpdateUser(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.UserChange) (*audit.User, error)
}

type erasureService interface {
	Erase(ctx context.Context, p *app.Principal, c app.Client, in app.ErasureRequest) (*audit.Erasure, error)
	Erasures(ctx context.Context, p *app.Principal) ([]*audit.Erasure, error)
}

type apiKeyService interface {
	CreateAPIKey(ctx context.Context, p *app.Principal, c app.Client, in app.NewAPIKey) (key string, k *audit.APIKey, err error)
	APIKeys(ctx context.Context, p *app.Principal) ([]*audit.APIKey, error)
	RevokeAPIKey(ctx context.Context, p *app.Principal, c app.Client, id int64) (*audit.APIKey, error)
}

type alertService interface {
	AlertRuleDefaults(ctx context.Context, p *app.Principal) ([]alert.Default, error)
	CreateAlertRule(ctx context.Context, p *app.Principal, c app.Client, in app.NewAlertRule) (*audit.AlertRule, error)
	AlertRules(ctx context.Context, p *app.Principal) ([]*audit.AlertRule, error)
	AlertRule(ctx context.Context, p *app.Principal, id int64) (*audit.AlertRule, error)
	UpdateAlertRule(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.AlertRulePatch) (*audit.AlertRule, error)
	DeleteAlertRule(ctx context.Context, p *app.Principal, c app.Client, id int64) error
}

type eventService interface {
	ListEvents(ctx context.Context, p *app.Principal, q app.EventQuery) (*app.EventList, error)
	ListingVersion(ctx context.Context, p *app.Principal, q app.EventQuery) (string, error)
	Event(ctx context.Context, p *app.Principal, id int64) (*audit.Event, error)
	OpenTail(ctx context.Context, p *app.Principal, credential string, req app.TailRequest) (*app.Tail, error)
	RecheckTail(ctx context.Context, t *app.Tail) error
	Ingest(ctx context.Context, p *app.Principal, ins []ingest.EventInput) ([]audit.Appended, error)
}

// logService serves the verifiable log's reads.
type logService interface {
	VerifierKey() (key, name string)
	SigningKeys(ctx context.Context) ([]app.SigningKey, error)
	Origin(accountID int64) string
	Checkpoint(ctx context.Context, p *app.Principal, size int64) (*sqlstore.Checkpoint, error)
	ProveEvent(ctx context.Context, p *app.Principal, eventID, size int64) (*sqlstore.InclusionProof, error)
	ProveConsistency(ctx context.Context, p *app.Principal, from, to int64) (*sqlstore.ConsistencyProof, error)
	VerifyLog(ctx context.Context, p *app.Principal) (*tlog.Report, error)
	WitnessStates(ctx context.Context, p *app.Principal) ([]sqlstore.WitnessState, error)
	Export(ctx context.Context, p *app.Principal, c app.Client, req app.ExportRequest, start func(*app.Export) io.Writer) error
}

// analyticsService counts events from the pre-aggregated counts.
type analyticsService interface {
	AnalyticsSummary(ctx context.Context, p *app.Principal, q app.AnalyticsQuery) (*app.Summary, error)
	AnalyticsSeries(ctx context.Context, p *app.Principal, q app.AnalyticsQuery) (*app.Series, error)
	AnalyticsTop(ctx context.Context, p *app.Principal, q app.AnalyticsQuery) (*app.Top, error)
}

// chatService keeps the chat assistant's conversations; package chat
// answers the questions through the same reads.
type chatService interface {
	chat.Application
	ChatConversations(ctx context.Context, p *app.Principal) ([]*audit.ChatConversation, error)
	DeleteChatConversation(ctx context.Context, p *app.Principal, c app.Client, id int64) error
}

// streamService configures the streams to SIEM tools.
type streamService interface {
	CreateStream(ctx context.Context, p *app.Principal, c app.Client, in app.NewStream) (*audit.Stream, string, error)
	Streams(ctx context.Context, p *app.Principal) ([]*audit.Stream, error)
	Stream(ctx context.Context, p *app.Principal, id int64) (*audit.Stream, error)
	UpdateStream(ctx context.Context, p *app.Principal, c app.Client, id int64, in app.StreamChange) (*audit.Stream, error)
	PauseStream(ctx context.Context, p *app.Principal, c app.Client, id int64) (*audit.Stream, error)
	ResumeStream(ctx context.Context, p *app.Principal, c app.Client, id int64) (*audit.Stream, error)
	DeleteStream(ctx context.Context, p *app.Principal, c app.Client, id int64) error
	TestStream(ctx context.Context, p *app.Principal, id int64, encode func(*sqlstore.Checkpoint) ([]byte, error)) (*app.StreamTest, error)
}

// platformService serves platform keys: accounts by external ID, events
// to any account, viewer tokens.
type platformService interface {
	AuthenticatePlatformKey(ctx context.Context, key string) (*app.Principal, error)
	PlatformAccount(ctx context.Context, p *app.Principal, ref app.AccountRef) (*app.Principal, *audit.Account, error)
	LookUpAccount(ctx context.Context, p *app.Principal, ref app.AccountRef) (*audit.Account, error)
	CreatePlatformAccount(ctx context.Context, p *app.Principal, c app.Client, in app.NewPlatformAccount) (*audit.Account, *audit.User, error)
	PlatformIngest(ctx context.Context, p *app.Principal, ins []app.PlatformEvent) ([]audit.Appended, error)
	CreateViewerToken(ctx context.Context, p *app.Principal, c app.Client, in app.NewViewerToken) (string, *app.ViewerGrant, error)
	RecordViews(ctx context.Context, p *app.Principal, id int64) (bool, error)
	SetRecordViews(ctx context.Context, p *app.Principal, c app.Client, id int64, record bool) error
}

// eventSchemaService serves event schemas: JSON Schemas per action that
// ingested events must match.
type eventSchemaService interface {
	CreateEventSchema(ctx context.Context, p *app.Principal, c app.Client, in app.NewEventSchema) (*audit.EventSchema, error)
	ListEventSchemas(ctx context.Context, p *app.Principal, ref app.AccountRef, action string) ([]*audit.EventSchema, error)
	EventSchema(ctx context.Context, p *app.Principal, id int64) (*audit.EventSchema, error)
	DeleteEventSchema(ctx context.Context, p *app.Principal, c app.Client, id int64) (*audit.EventSchema, error)
}
