// Package app is the application layer: every operation a person or a
// platform service can perform, with every rule that governs it, behind
// one API that every surface calls. The JSON API (package server) is one
// such surface; an HTML console, a WebSocket live tail, chat or an MCP
// server are others, and each of them decodes its input, authenticates,
// calls the same *App method and renders the result, with no rules of its
// own.
//
// # Shape of an operation
//
// Methods take ctx, the acting *Principal (from AuthenticateSession or
// AuthenticateKey), the Client (origin: IP address and user agent) when
// the audit trail records it, and decoded inputs as plain Go structs. They
// return domain values (audit.User, audit.APIKey…) and *audit.Error values
// whose Code a surface maps to its own statuses; any other error is
// internal, and its text must not reach a client. A Field on an error names
// the operation's input at fault, spelled as the JSON API spells it (a form
// uses the same names). Store conflicts come back as the sentinels
// audit.ErrEmailTaken and audit.ErrDomainTaken, wrapped: the surface names
// its own field for them (the JSON API says domain or email).
//
// # Where each rule lives
//
//   - principal.go: who is acting, role and API-key scope checks
//     (Principal.Authorize), tenant scope (Principal.OwnAccount), the
//     MFA-enrolment-due lock.
//   - record.go: the one helper (App.record) that writes an event about an
//     operation to the audit trail, with the actor taken from the
//     principal, the client's origin and the resource acted on. Every event
//     the app records goes through it; the details texts are written next
//     to each operation and are a contract (clients and tests read them).
//   - background.go: recordLater, which records an event off the
//     response path (failed sign-ins, so that a known email's answer takes
//     no longer than an unknown one's), Flush, and Close, which writes
//     what is queued before the process stops.
//   - keys.go: Keys derives every value keyed by the secret key (session
//     and MFA sign-in token hashes, rate-limit bucket keys, list cursor
//     MACs, the MFA secret sealing key), each under its own label.
//   - accounts.go, users.go: account creation (public SignUp, with its
//     switch and rate limit, and the operator's CreateAccount) and user
//     creation, the domain rule (an account's owner and users have
//     addresses at exactly its domain, so no account holds another's), the
//     role rules
//     (audit.Role.CanAssign, admins never touch owners), the last-owner
//     rule, and deactivation ending sessions, pending MFA sign-ins and the
//     user's API keys.
//   - auth.go: sign-in, sign-out, the one way a session starts
//     (startSession: login, MFA verify, password change), and session
//     authentication with idle and absolute expiry.
//   - password.go: password change and the password policy.
//   - mfa.go: TOTP enrolment, confirmation, disabling, the second sign-in
//     step, recovery codes and replay protection.
//   - apikeys.go: API keys and their authentication.
//   - security.go: the account's MFA policy.
//   - limits.go: the rate-limit policy: which buckets each attempt draws
//     from, and the at-most-once-per-10-minutes audit of throttled sign-ins.
//   - events.go: listing events (keyset cursors), one event by ID, and
//     preparing ingested events (actor resolution).
//   - version.go: the version of a listing page (ListingVersion), for
//     HTTP validators and page caches, and the rule it relies on: any
//     change to how an event reads appends an event.
//   - eventschema.go: event schemas (JSON Schemas per action, for one
//     account or all), their versions, and the check of ingested events
//     against them, with the process's caches of compiled schemas and of
//     each account's latest versions (one second).
//   - ingest.go: recording ingested events through the group-commit
//     writer, and what a saturated or slow writer answers.
//   - log.go: the verifiable log's reads: the verifier key, checkpoints,
//     inclusion and consistency proofs, the server-side verification.
//   - chat.go: the chat assistant's conversations: who may chat (a
//     signed-in user who reads the audit log), conversations kept per
//     user, and the chat.query event each question records (package chat
//     interprets and answers; it calls this package's reads).
//   - alerts.go: alert rules: who may define them (owners and admins,
//     PermManageAlerts), the events each change records, the default rules
//     created on request, a rule switched on starting at the log's end,
//     and RaiseAlert, which records an alert (its once-per-window row and
//     its alert.triggered event) for package alert's evaluator.
//   - export.go: exports as NDJSON (self-proving), CSV or a PDF report,
//     each recorded with its format, filter and count before the first
//     byte, then streamed (PDF: built whole) with the reads a few batches
//     ahead of the writer.
//
// # Rate limits
//
// Sign-in attempts are rate-limited inside the operations that make them:
// Login and VerifyMFA draw from the client IP's and the account's login
// buckets; ChangePassword, StartMFASetup, ConfirmMFA and DisableMFA draw
// from the account's; SignUp draws from the client IP's sign-up bucket
// once the request's fields are valid. A throttled attempt fails with a
// *RateLimitError
// (code audit.ERATELIMITED) that carries RetryAfter, and a throttled
// attempt on a known account is recorded as login_failed at most once per
// 10 minutes. Route-level buckets are drawn by the surface, through
// LimitReads (a session's reads) and LimitIngest (an API key's ingest).
// A surface that shows rate-limit state (the JSON API's RateLimit headers)
// attaches a LimitObserver to the context with WithLimitObserver; every
// decision an operation makes is reported to it, allowed or not.
//
// # A new surface
//
// An HTML sign-in page calls the same operation as POST /api/auth/login:
//
//	in := app.Credentials{Email: r.FormValue("email"), Password: r.FormValue("password"), OldToken: cookie}
//	res, err := a.Login(ctx, app.NewClient(ip, r.UserAgent()), in)
//	switch {
//	case audit.ErrorCode(err) == audit.ERATELIMITED: // render "try again later"
//	case err != nil: // render audit.ErrorMessage(err) next to audit.ErrorField(err)
//	case res.MFAToken != "": // render the code form, carrying res.MFAToken
//	default: // set the session cookie to res.Token
//	}
//
// and gets the same checks, the same rate limits and the same audit trail.
package app

import (
	"log/slog"
	"time"

	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// App performs the service's operations. Create one with New; it is safe
// for concurrent use.
type App struct {
	// rechecks shares the live tails' credential checks (RecheckTail).
	rechecks recheckCache

	store  *sqlstore.DB
	signer *tlog.Signer
	ingest *ingest.Writer
	hasher *password.Hasher
	cfg    config.Config
	log    *slog.Logger
	keys   Keys
	now    func() time.Time

	// limiter holds the rate-limit buckets (Redis when configured);
	// localLimiter is this process's own, used when limiter fails.
	limiter, localLimiter ratelimit.Limiter
	// onLimit, when set, is told every rate-limit decision (Deps.OnLimit).
	onLimit LimitObserver
	// onWitness and onVerify, when set, are told each witness answer and
	// each log verification (Deps).
	onWitness func(witness, result string)
	onVerify  func(result string)

	// bg records events off the response path (background.go).
	bg *background
	// cos asks the witnesses to cosign checkpoints (witness.go); nil
	// without witnesses.
	cos *cosigner
	// schemas caches compiled event schemas (eventschema.go).
	schemas schemaCache
}

// Deps are what an App needs.
type Deps struct {
	Store *sqlstore.DB
	// Signer signs the checkpoint of every append to a log.
	Signer *tlog.Signer
	// Ingest group-commits the events platform services send (Ingest).
	Ingest *ingest.Writer
	Hasher *password.Hasher
	Config config.Config
	Logger *slog.Logger
	// SecretKey keys every secret-derived value (see Keys). It must not
	// be empty.
	SecretKey []byte
	// Limiter holds the rate-limit buckets; nil keeps them in this process.
	Limiter ratelimit.Limiter
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Witnesses, when set, are asked to cosign every new checkpoint
	// (NewWitnesses parses Config.Witnesses); Config.Quorum() of them
	// make a checkpoint cosigned. The caller passes each committed append
	// to LogsCommitted.
	Witnesses []*Witness
	// OnLimit, when set, is told every rate-limit decision of every
	// operation, whatever its surface (for metrics); it must not block.
	OnLimit LimitObserver
	// OnWitness, when set, is told the result of each request to a
	// witness: the witness's ID (Witness.ID) and WitnessCosigned,
	// WitnessRefused or WitnessFailed. It must not block.
	OnWitness func(witness, result string)
	// OnVerify, when set, is told the result of each verification of an
	// account's stored log (VerifyLog): VerifyOK, VerifyFailed or
	// VerifyError. It must not block.
	OnVerify func(result string)
}

// New returns an App ready to use. Call Close when done with it, after
// the surfaces have stopped and before the store closes: events recorded
// in the background are written by then.
func New(d Deps) *App {
	a := &App{
		store:  d.Store,
		signer: d.Signer,
		ingest: d.Ingest,
		hasher: d.Hasher,
		cfg:    d.Config,
		log:    d.Logger,
		keys:   NewKeys(d.SecretKey),
		now:    d.Now,

		onLimit:   d.OnLimit,
		onWitness: d.OnWitness,
		onVerify:  d.OnVerify,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	local := ratelimit.NewMemory()
	local.Now = func() time.Time { return a.now() }
	a.limiter, a.localLimiter = d.Limiter, local
	if a.limiter == nil {
		a.limiter = local
	}
	a.startBackground()
	a.startCosigner(d.Witnesses, d.Config.Quorum())
	return a
}
