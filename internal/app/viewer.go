package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// The embeddable viewer. A viewer token is a short-lived, read-only grant
// on one account's log that a platform key (viewer:create) or an owner or
// admin mints; the platform puts it in the URL of an iframe
// (/embed?token=…), where the viewer exchanges it, once, for a session of
// its own (AuthenticateViewer). Whatever the viewer then reads is narrowed
// to the grant: its fixed search is AND-ed with every listing, export and
// count, an event outside it is not found by ID and has no proof, and
// features it was not given (search, export, verify) are refused. Every
// other read (analytics, the live tail, chat, server-side verification) is
// refused to a viewer by Principal.Authorize.
//
// Tokens look like avt_<account id>_<43 base64url characters>, sessions
// like <account id>.<43 base64url characters>: the account ID finds the
// row under the account's key; only SHA-256 hashes of either are stored.

// Viewer features: what a grant allows beyond listing and reading events.
const (
	FeatureSearch = "search" // searching with q (the fixed search applies whatever the grant)
	FeatureExport = "export" // exporting (NDJSON, CSV, PDF), narrowed
	FeatureVerify = "verify" // checkpoints and inclusion proofs: the verified badge
)

// Features lists every viewer feature.
var Features = []string{FeatureExport, FeatureSearch, FeatureVerify}

// Bounds of viewer tokens.
const (
	// DefaultViewerTTL is how long a token (and the viewer session it
	// is exchanged for) lasts when the request names no ttl_seconds.
	DefaultViewerTTL = 10 * time.Minute
	// MaxViewerTTL is the longest a token and its session may last.
	MaxViewerTTL = time.Hour
	// MaxViewerOrigins bounds the frame origins a token names.
	MaxViewerOrigins = 10
	maxViewerQuery   = 1000
)

const viewerTokenType = "avt_"

// ActorViewer is the actor type of what an embedded viewer's session
// does: its ActorID is the grant's ID, its ActorName who minted it.
const ActorViewer = "viewer"

// ActionLogViewed is recorded when an embedded viewer is opened, unless
// the account has turned it off (SetRecordViews).
const ActionLogViewed = "audit_log.viewed"

// ActionViewerTokenCreated is recorded when a viewer token is minted.
const ActionViewerTokenCreated = "viewer_token_created"

// Errors of the viewer.
var (
	// ErrViewerToken means the token is unknown, already used, or
	// expired: a token is accepted once.
	ErrViewerToken = audit.Errorf(audit.EUNAUTHORIZED, "This viewer link is invalid, expired or already used: ask the platform for a new one.")
	// ErrViewerSession means the viewer's session is unknown or expired.
	ErrViewerSession = audit.Errorf(audit.EUNAUTHORIZED, "This viewer has expired: reload the page in the platform to open a new one.")
	errViewerFeature = audit.Errorf(audit.EFORBIDDEN, "This viewer was not given that feature.")
)

// ViewerGrant is what a viewer token allows: the principal of an
// embedded viewer carries it.
type ViewerGrant struct {
	// ID names the grant in the audit trail: the first hex digits of its
	// token's hash.
	ID        string
	AccountID int64
	// Query is the fixed search, AND-ed with everything the viewer reads;
	// "" is none.
	Query    string
	Features []string
	// Origins are the origins that may frame the viewer
	// (Content-Security-Policy frame-ancestors).
	Origins []string
	// Theme holds the CSS variables the viewer is styled with, by name
	// (see ThemeVariables).
	Theme     map[string]string
	CreatedBy string
	ExpiresAt time.Time
}

// Has reports whether the grant has feature f.
func (g *ViewerGrant) Has(f string) bool { return slices.Contains(g.Features, f) }

// ThemeVariables are the CSS variables a grant may set, each with the
// pattern its value must match: colours as #rgb, #rrggbb or #rrggbbaa, a
// font as a list of family names.
var ThemeVariables = map[string]*regexp.Regexp{
	"background": colourPattern,
	"text":       colourPattern,
	"muted":      colourPattern,
	"accent":     colourPattern,
	"border":     colourPattern,
	"font":       regexp.MustCompile(`^[A-Za-z0-9 ,\-]{1,100}$`),
}

var colourPattern = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$`)

// originPattern is an origin a grant may name: http or https, a host name
// or IPv4 address, an optional port; nothing else.
var originPattern = regexp.MustCompile(`^https?://[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?$`)

// NewViewerToken is what minting a viewer token takes.
type NewViewerToken struct {
	// Account names the account, for a platform key; a user's token is
	// for their own account and leaves it zero.
	Account  AccountRef
	Query    string
	Features []string
	Origins  []string
	// TTL is how long the token lasts; 0 means DefaultViewerTTL.
	TTL   time.Duration
	Theme map[string]string
}

// CreateViewerToken mints a viewer token: for a platform key holding
// viewer:create, on the account in.Account names; for a signed-in owner or
// admin, on their own account. It checks the search (it must parse), the
// features, the origins (1 to MaxViewerOrigins, each scheme://host[:port])
// and the theme, records viewer_token_created in the account, and returns
// the token, stored only as a hash, with its grant.
func (a *App) CreateViewerToken(ctx context.Context, p *Principal, c Client, in NewViewerToken) (string, *ViewerGrant, error) {
	switch {
	case p == nil:
		return "", nil, ErrUnauthorized
	case p.Platform != nil:
		if !p.Platform.Has(audit.PlatformScopeViewerCreate) {
			return "", nil, errPlatformScope
		}
		scoped, _, err := a.PlatformAccount(ctx, p, in.Account)
		if err != nil {
			return "", nil, err
		}
		p = scoped
	default:
		if err := p.RequireUser(); err != nil {
			return "", nil, err
		}
		if err := p.Authorize(audit.PermViewAuditLogs); err != nil {
			return "", nil, err
		}
		if in.Account != (AccountRef{}) && (in.Account.ID != p.AccountID || in.Account.ExternalID != "") {
			return "", nil, ErrAccountNotFound
		}
	}
	g, err := a.checkViewerToken(&in)
	if err != nil {
		return "", nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := viewerTokenType + strconv.FormatInt(p.AccountID, 10) + "_" + base64.RawURLEncoding.EncodeToString(secret)
	hash := sha256.Sum256([]byte(token))
	g.ID, g.AccountID = hex.EncodeToString(hash[:6]), p.AccountID
	switch {
	case p.Platform != nil:
		g.CreatedBy = "platform key " + p.Platform.Name + " (" + p.Platform.Prefix + ")"
	default:
		g.CreatedBy = p.User.Email
	}
	theme, err := json.Marshal(g.Theme)
	if err != nil {
		return "", nil, err
	}
	now := a.now().UTC()
	g.ExpiresAt = now.Add(in.TTL).Truncate(time.Microsecond)
	row := &sqlstore.ViewerToken{AccountID: p.AccountID, TokenHash: hash[:], Query: g.Query, Features: g.Features,
		Origins: g.Origins, Theme: string(theme), CreatedBy: g.CreatedBy, ExpiresAt: g.ExpiresAt}
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateViewerToken(ctx, row); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{auditLogResource, ActionViewerTokenCreated,
			fmt.Sprintf("Created viewer token %s for %s, features [%s], search %q, origins %s", g.ID,
				in.TTL, strings.Join(g.Features, " "), g.Query, strings.Join(g.Origins, " "))})
	})
	if err != nil {
		return "", nil, err
	}
	return token, g, nil
}

// checkViewerToken checks in's fields and returns its grant, with in.TTL
// resolved.
func (a *App) checkViewerToken(in *NewViewerToken) (*ViewerGrant, error) {
	g := &ViewerGrant{Query: strings.TrimSpace(in.Query), Theme: map[string]string{}}
	if len(g.Query) > maxViewerQuery {
		return nil, audit.FieldError("q", "q must be at most %d bytes.", maxViewerQuery)
	}
	if _, err := parseSearch(g.Query, a.now()); err != nil {
		return nil, err
	}
	for _, f := range in.Features {
		if !slices.Contains(Features, f) {
			return nil, audit.FieldError("features", "unknown feature %q: use %s.", f, strings.Join(Features, ", "))
		}
		if !slices.Contains(g.Features, f) {
			g.Features = append(g.Features, f)
		}
	}
	slices.Sort(g.Features)
	switch {
	case len(in.Origins) == 0:
		return nil, audit.FieldError("origins", "origins is required: the origins (such as https://admin.example.com) that may show the viewer in a frame.")
	case len(in.Origins) > MaxViewerOrigins:
		return nil, audit.FieldError("origins", "origins holds at most %d origins.", MaxViewerOrigins)
	}
	for _, o := range in.Origins {
		u, err := url.Parse(o)
		if err != nil || !originPattern.MatchString(o) || u.Host == "" {
			return nil, audit.FieldError("origins", "%q is not an origin: write scheme://host[:port], such as https://admin.example.com, with nothing after it.", o)
		}
		o = strings.ToLower(o)
		if !slices.Contains(g.Origins, o) {
			g.Origins = append(g.Origins, o)
		}
	}
	switch {
	case in.TTL < 0 || in.TTL > MaxViewerTTL:
		return nil, audit.FieldError("ttl_seconds", "ttl_seconds must be between 1 and %d.", int(MaxViewerTTL.Seconds()))
	case in.TTL == 0:
		in.TTL = DefaultViewerTTL
	}
	for k, v := range in.Theme {
		pat, ok := ThemeVariables[k]
		switch {
		case !ok:
			return nil, audit.FieldError("theme", "unknown theme variable %q: use background, text, muted, accent, border or font.", k)
		case !pat.MatchString(v):
			return nil, audit.FieldError("theme", "theme %s has a value it cannot take: colours are #rgb, #rrggbb or #rrggbbaa, a font is a list of family names.", k)
		}
		g.Theme[k] = v
	}
	return g, nil
}

// parseSearch parses a search at now, turning a syntax error into the
// client error that names field q.
func parseSearch(s string, now time.Time) (*query.Query, error) {
	q, err := query.Parse(s, now)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return nil, qe.AuditError()
		}
		return nil, err
	}
	return q, nil
}

// ExchangeViewerToken opens an embedded viewer: it accepts the token once
// (ErrViewerToken if unknown, used or expired), starts the viewer's
// session, which lasts as long as the token would have, and records
// audit_log.viewed in the account unless the account has turned that off,
// in the same transaction. It returns the session token and the grant.
func (a *App) ExchangeViewerToken(ctx context.Context, c Client, token string) (string, *ViewerGrant, error) {
	acct, ok := viewerAccount(token, viewerTokenType, '_')
	if !ok {
		return "", nil, ErrViewerToken
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	session := strconv.FormatInt(acct, 10) + "." + base64.RawURLEncoding.EncodeToString(secret)
	th, sh := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(session))
	record, err := a.store.RecordViews(ctx, acct)
	if err != nil {
		return "", nil, err
	}
	var g *ViewerGrant
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		v, err := tx.ExchangeViewerToken(ctx, acct, th[:], sh[:], a.now())
		if err != nil {
			return err
		}
		if g, err = grantOf(v); err != nil {
			return err
		}
		if !record {
			return nil
		}
		return a.record(ctx, tx, &Principal{AccountID: acct, Viewer: g}, c, entry{auditLogResource, ActionLogViewed,
			fmt.Sprintf("Opened the embedded viewer (token %s of %s), features [%s], search %q", g.ID, g.CreatedBy,
				strings.Join(g.Features, " "), g.Query)})
	})
	if err != nil {
		return "", nil, notFoundAs(err, ErrViewerToken)
	}
	return session, g, nil
}

// AuthenticateViewer returns the principal of an embedded viewer's session
// (ErrViewerSession when unknown or expired).
func (a *App) AuthenticateViewer(ctx context.Context, session string) (*Principal, error) {
	acct, ok := viewerAccount(session, "", '.')
	if !ok {
		return nil, ErrViewerSession
	}
	sh := sha256.Sum256([]byte(session))
	v, err := a.store.ViewerSession(ctx, acct, sh[:])
	if err != nil {
		return nil, notFoundAs(err, ErrViewerSession)
	}
	if !a.now().Before(v.ExpiresAt) {
		return nil, ErrViewerSession
	}
	g, err := grantOf(v)
	if err != nil {
		return nil, err
	}
	return &Principal{AccountID: acct, Viewer: g}, nil
}

// viewerAccount reads the account ID of a token (typ, then the ID, then
// sep and 43 base64url characters).
func viewerAccount(s, typ string, sep byte) (int64, bool) {
	rest, ok := strings.CutPrefix(s, typ)
	if !ok {
		return 0, false
	}
	i := strings.IndexByte(rest, sep)
	if i <= 0 || len(rest)-i-1 != 43 {
		return 0, false
	}
	id, err := strconv.ParseInt(rest[:i], 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(rest[i+1:]); err != nil {
		return 0, false
	}
	return id, true
}

// grantOf returns the grant a stored token holds.
func grantOf(v *sqlstore.ViewerToken) (*ViewerGrant, error) {
	g := &ViewerGrant{ID: hex.EncodeToString(v.TokenHash[:6]), AccountID: v.AccountID, Query: v.Query, Features: v.Features,
		Origins: v.Origins, CreatedBy: v.CreatedBy, ExpiresAt: v.ExpiresAt, Theme: map[string]string{}}
	if v.Theme != "" {
		if err := json.Unmarshal([]byte(v.Theme), &g.Theme); err != nil {
			return nil, fmt.Errorf("app: viewer token theme: %w", err)
		}
	}
	return g, nil
}

// RecordViews reports whether p's account records audit_log.viewed when
// its embedded viewer is opened.
func (a *App) RecordViews(ctx context.Context, p *Principal, id int64) (bool, error) {
	if err := p.Authorize(audit.PermViewAccount); err != nil {
		return false, err
	}
	if err := p.OwnAccount(id); err != nil {
		return false, err
	}
	return a.store.RecordViews(ctx, id)
}

// SetRecordViews lets an owner choose whether opening the account's
// embedded viewer records audit_log.viewed (on by default). A change is
// recorded with its before and after values; no change records nothing.
func (a *App) SetRecordViews(ctx context.Context, p *Principal, c Client, id int64, record bool) error {
	if err := p.Authorize(audit.PermManageAccountSecurity); err != nil {
		return err
	}
	if err := p.OwnAccount(id); err != nil {
		return err
	}
	return a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		before, err := tx.SetRecordViews(ctx, id, record)
		if err != nil || before == record {
			return err
		}
		return a.record(ctx, tx, p, c, entry{accountResource(id), ActionRecordViewsChanged,
			fmt.Sprintf("Record views of the embedded viewer: record_views: %t → %t", before, record)})
	})
}

// ActionRecordViewsChanged is recorded when an owner turns the recording
// of viewer views on or off.
const ActionRecordViewsChanged = "account_record_views_changed"

// authorizeRead is Authorize(PermViewAuditLogs) for the reads an embedded
// viewer may make too (listing and reading events): a viewer passes, and
// needs FeatureSearch for a search of its own.
func (p *Principal) authorizeRead(search string) error {
	if p != nil && p.Viewer != nil {
		if strings.TrimSpace(search) != "" && !p.Viewer.Has(FeatureSearch) {
			return errViewerFeature
		}
		return nil
	}
	return p.Authorize(audit.PermViewAuditLogs)
}

// authorizeFeature is Authorize(PermViewAuditLogs) for a read that an
// embedded viewer may make only with feature f.
func (p *Principal) authorizeFeature(f string) error {
	if p != nil && p.Viewer != nil {
		if !p.Viewer.Has(f) {
			return errViewerFeature
		}
		return nil
	}
	return p.Authorize(audit.PermViewAuditLogs)
}

// narrowed reports whether p reads through a grant's fixed search.
func (p *Principal) narrowed() bool { return p.Viewer != nil && p.Viewer.Query != "" }

// narrow returns q AND-ed with p's fixed search, if any. The search parsed
// when the token was minted; it is parsed again at each read so that a
// relative time (created:>-7d) counts back from now. The query language
// has no top-level OR: AND-ing can only narrow.
func (a *App) narrow(p *Principal, q *query.Query) *query.Query {
	if !p.narrowed() {
		return q
	}
	fixed, err := query.Parse(p.Viewer.Query, a.now())
	if err != nil {
		// Checked when minted; should the language ever change, match nothing.
		return q.And(&query.Query{Clauses: []query.Clause{{Field: query.FieldUserID, Values: []query.Value{{Op: query.OpEq, Int: -1, Text: "-1"}}}}})
	}
	return q.And(fixed)
}

// checkNarrowed fails with ErrEventNotFound when p reads through a fixed
// search that the account's event id does not match.
func (a *App) checkNarrowed(ctx context.Context, p *Principal, id int64) error {
	if !p.narrowed() {
		return nil
	}
	ok, err := a.store.EventMatches(ctx, p.AccountID, id, a.narrow(p, nil))
	switch {
	case err != nil:
		return err
	case !ok:
		return ErrEventNotFound
	}
	return nil
}
