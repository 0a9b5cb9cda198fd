package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Event schemas: a platform (a platform key holding schemas:write), or an
// account's owner for their own account, registers a JSON Schema for the
// events of one action, for one account or (a platform only) for every
// account. Registering again makes a new version; the latest version of
// each scope applies, so an event of the action must match the latest
// all-accounts version and the latest version of its own account, when
// there are such. A version never changes, and can be deleted only until
// an event has been checked against it.
//
// Each ingest request (single, batch, platform batch) checks its events
// against the latest versions of its accounts' schemas, compiled once per
// process: a version's ID names an immutable schema, so the compiled cache
// is keyed by it and never goes stale. Which versions are the latest is
// cached per process and account for schemaListTTL: an account's requests
// read it (one indexed read of every account's latest versions that
// expired, without bodies) once a second at most, not once per request.
// A change made through this process applies to its next request; another
// process sharing the database applies it within schemaListTTL, during
// which it checks events against the versions it read before (a deleted
// version fails the request once with errEventSchemaGone, and the retry
// reads the versions again). An event that does not match fails the whole
// request with a 400 naming the field (its JSON pointer in the message);
// nothing of it is written.

// Bounds of event schemas.
const (
	// MaxEventSchemaBytes bounds a schema's compact JSON.
	MaxEventSchemaBytes = 32 << 10
	// maxSchemaProblems bounds the problems reported per event.
	maxSchemaProblems = 5
	// maxCompiledSchemas bounds the process's cache of compiled schemas.
	maxCompiledSchemas = 4096
	// maxCachedSchemaAccounts bounds the accounts whose latest versions
	// the process keeps.
	maxCachedSchemaAccounts = 10_000
	// schemaListTTL is how long the latest versions of an account's
	// schemas, as read, serve its ingest requests: the longest another
	// process sharing the database checks events against the versions
	// that applied before a change.
	schemaListTTL = time.Second
)

// Actions recorded about event schemas, in the account of an account's
// schema (an all-accounts schema belongs to no account: its changes are
// logged).
const (
	ActionEventSchemaCreated = "event_schema_created"
	ActionEventSchemaDeleted = "event_schema_deleted"
)

// ResourceEventSchema is the resource type of event schemas in the audit
// trail.
const ResourceEventSchema = "event_schema"

// Errors of event schemas.
var (
	// ErrEventSchemaNotFound means no schema version with that ID is
	// visible to the caller.
	ErrEventSchemaNotFound = audit.Errorf(audit.ENOTFOUND, "Event schema not found.")
	errEventSchemaUsed     = audit.Errorf(audit.ECONFLICT, "Events have been checked against this schema version, so it can no longer be deleted: register a new version instead.")
	errEventSchemaRace     = audit.Errorf(audit.ECONFLICT, "Another version of this schema was registered at the same moment: send the request again.")
	errEventSchemaGone     = audit.Errorf(audit.ECONFLICT, "An event schema of these events was deleted while they were checked: send them again.")
)

// NewEventSchema is what registering an event schema takes.
type NewEventSchema struct {
	// Account names the account, for a platform key; zero with
	// AllAccounts for every account. A user's schema is for their own
	// account.
	Account     AccountRef
	AllAccounts bool
	Action      string
	// Schema is the JSON Schema (draft 2020-12 unless it names another
	// draft in $schema).
	Schema []byte
}

// schemaPrinter formats the validator's messages.
var schemaPrinter = message.NewPrinter(language.English)

// noSchemaLoader refuses every reference outside the schema: a schema may
// not make the server read files or fetch URLs.
type noSchemaLoader struct{}

func (noSchemaLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("a schema may refer only to itself (and the standard meta-schemas), not to %s", url)
}

// schemaURL names the schema being compiled.
const schemaURL = "https://auditlog.invalid/event-schema.json"

// compileEventSchema compiles a schema's JSON: draft 2020-12 by default,
// formats asserted, no references outside it.
func compileEventSchema(body []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noSchemaLoader{})
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(schemaURL)
}

// checkEventSchema checks a schema's JSON and returns it compact.
func checkEventSchema(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, audit.FieldError("schema", "schema is required: a JSON Schema object, such as {\"type\": \"object\", \"required\": [\"metadata\"]}.")
	}
	if err := json.Compact(&b, trimmed); err != nil {
		return nil, audit.FieldError("schema", "schema is not valid JSON.")
	}
	if b.Len() > MaxEventSchemaBytes {
		return nil, audit.FieldError("schema", "schema must be at most %d bytes of compact JSON.", MaxEventSchemaBytes)
	}
	if _, err := compileEventSchema(b.Bytes()); err != nil {
		return nil, audit.FieldError("schema", "schema is not a JSON Schema this service can use: %s", schemaError(err))
	}
	return b.Bytes(), nil
}

// schemaError is a compiler's error in words, without the URL the service
// compiles the schema under.
func schemaError(err error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, schemaURL+"#", "#")
	return strings.ReplaceAll(s, schemaURL, "the schema")
}

// CreateEventSchema registers the next version of the event schema of
// in.Action: for a platform key holding schemas:write, on the account
// in.Account names or, with in.AllAccounts, on every account; for a
// signed-in owner, on their own account. It records
// event_schema_created in the account (an all-accounts schema is logged).
func (a *App) CreateEventSchema(ctx context.Context, p *Principal, c Client, in NewEventSchema) (*audit.EventSchema, error) {
	scope, err := a.eventSchemaScope(ctx, p, in.Account, in.AllAccounts)
	if err != nil {
		return nil, err
	}
	if in.Action == "" || !ingest.ValidAction(in.Action) {
		return nil, audit.FieldError("action", "action must be an action name such as order.refunded: lower-case words of letters, digits and underscores joined by dots (at most %d characters).", ingest.MaxActionLen)
	}
	body, err := checkEventSchema(in.Schema)
	if err != nil {
		return nil, err
	}
	s := &audit.EventSchema{AccountID: scope.AccountID, Action: in.Action, Body: body, CreatedBy: principalName(p)}
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateEventSchema(ctx, s); err != nil {
			return err
		}
		if s.AllAccounts() {
			return nil
		}
		return a.record(ctx, tx, scope, c, entry{eventSchemaResource(s), ActionEventSchemaCreated,
			fmt.Sprintf("Registered version %d of the event schema of %s (%d bytes)", s.Version, s.Action, len(s.Body))})
	})
	a.schemas.forget(scope.AccountID)
	switch {
	case errors.Is(err, sqlstore.ErrEventSchemaRace):
		return nil, errEventSchemaRace
	case err != nil:
		return nil, err
	}
	if s.AllAccounts() {
		a.log.InfoContext(ctx, "event schema registered for every account", "action", s.Action, "version", s.Version, "by", s.CreatedBy)
	}
	return s, nil
}

// eventSchemaScope returns the principal a schema operation acts as: p
// scoped to the account ref names (a platform key), a principal of no
// account (a platform key, all accounts), or p itself (an owner, on their
// own account).
func (a *App) eventSchemaScope(ctx context.Context, p *Principal, ref AccountRef, all bool) (*Principal, error) {
	switch {
	case p == nil:
		return nil, ErrUnauthorized
	case p.Platform != nil:
		if !p.Platform.Has(audit.PlatformScopeSchemasWrite) {
			return nil, errPlatformScope
		}
		if all {
			if ref != (AccountRef{}) {
				return nil, audit.FieldError("all_accounts", "a schema is for all accounts or for the one account_id or external_id names, not both.")
			}
			return &Principal{Platform: p.Platform}, nil
		}
		scoped, _, err := a.PlatformAccount(ctx, p, ref)
		return scoped, err
	}
	if err := p.RequireUser(); err != nil {
		return nil, err
	}
	if err := p.Authorize(audit.PermManageAccountSecurity); err != nil {
		return nil, err
	}
	switch {
	case all:
		return nil, audit.Errorf(audit.EFORBIDDEN, "Only the platform registers a schema for all accounts; an owner registers one for their own account.")
	case ref != (AccountRef{}) && (ref.ID != p.AccountID || ref.ExternalID != ""):
		return nil, ErrAccountNotFound
	}
	return p, nil
}

// principalName names who registered a schema.
func principalName(p *Principal) string {
	switch {
	case p.Platform != nil:
		return "platform key " + p.Platform.Name + " (" + p.Platform.Prefix + ")"
	case p.User != nil:
		return p.User.Email
	}
	return ""
}

func eventSchemaResource(s *audit.EventSchema) resource {
	return resource{ResourceEventSchema, strconv.FormatInt(s.ID, 10)}
}

// ListEventSchemas returns the schema versions that apply to an account's
// events, its own and the all-accounts ones, of one action when action is
// not "": a platform key holding schemas:write names the account (or none:
// the all-accounts schemas only); an owner or admin reads their own
// account's.
func (a *App) ListEventSchemas(ctx context.Context, p *Principal, ref AccountRef, action string) ([]*audit.EventSchema, error) {
	accounts, err := a.visibleSchemaAccounts(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	return a.store.EventSchemas(ctx, accounts, action)
}

// visibleSchemaAccounts returns the accounts (0 for all) whose schemas p
// may read: for a platform key, every schema; for a user, their account's
// and the all-accounts ones.
func (a *App) visibleSchemaAccounts(ctx context.Context, p *Principal, ref AccountRef) ([]int64, error) {
	switch {
	case p == nil:
		return nil, ErrUnauthorized
	case p.Platform != nil:
		if !p.Platform.Has(audit.PlatformScopeSchemasWrite) {
			return nil, errPlatformScope
		}
		if ref == (AccountRef{}) {
			return []int64{0}, nil
		}
		scoped, _, err := a.PlatformAccount(ctx, p, ref)
		if err != nil {
			return nil, err
		}
		return []int64{0, scoped.AccountID}, nil
	}
	if err := p.RequireUser(); err != nil {
		return nil, err
	}
	if err := p.Authorize(audit.PermViewAuditLogs); err != nil {
		return nil, err
	}
	if ref != (AccountRef{}) && (ref.ID != p.AccountID || ref.ExternalID != "") {
		return nil, ErrAccountNotFound
	}
	return []int64{0, p.AccountID}, nil
}

// EventSchema returns one schema version by ID, if p may read it (a
// platform key holding schemas:write reads every one; an owner or admin,
// their account's and the all-accounts ones).
func (a *App) EventSchema(ctx context.Context, p *Principal, id int64) (*audit.EventSchema, error) {
	s, err := a.store.EventSchema(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, ErrEventSchemaNotFound)
	}
	if p != nil && p.Platform != nil {
		if !p.Platform.Has(audit.PlatformScopeSchemasWrite) {
			return nil, errPlatformScope
		}
		return s, nil
	}
	if _, err := a.visibleSchemaAccounts(ctx, p, AccountRef{}); err != nil {
		return nil, err
	}
	if !s.AllAccounts() && s.AccountID != p.AccountID {
		return nil, ErrEventSchemaNotFound
	}
	return s, nil
}

// DeleteEventSchema deletes a schema version that no event has been
// checked against (409 conflict otherwise): a platform key holding
// schemas:write deletes any; an owner, their own account's. The previous
// version, if any, applies again. It records event_schema_deleted in the
// account (an all-accounts schema's deletion is logged).
func (a *App) DeleteEventSchema(ctx context.Context, p *Principal, c Client, id int64) (*audit.EventSchema, error) {
	s, err := a.EventSchema(ctx, p, id)
	if err != nil {
		return nil, err
	}
	scope := &Principal{AccountID: s.AccountID}
	switch {
	case p.Platform != nil:
		scope.Platform = p.Platform
	case s.AllAccounts():
		return nil, audit.Errorf(audit.EFORBIDDEN, "This schema is the platform's, for all accounts: only the platform deletes it.")
	default:
		if err := p.Authorize(audit.PermManageAccountSecurity); err != nil {
			return nil, err
		}
		scope = p
	}
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		ok, err := tx.DeleteEventSchema(ctx, id)
		switch {
		case err != nil:
			return err
		case !ok:
			return errEventSchemaUsed
		case s.AllAccounts():
			return nil
		}
		return a.record(ctx, tx, scope, c, entry{eventSchemaResource(s), ActionEventSchemaDeleted,
			fmt.Sprintf("Deleted version %d of the event schema of %s, which no event had been checked against", s.Version, s.Action)})
	})
	a.schemas.forget(s.AccountID)
	if err != nil {
		return nil, err
	}
	if s.AllAccounts() {
		a.log.InfoContext(ctx, "event schema for every account deleted", "action", s.Action, "version", s.Version, "by", principalName(p))
	}
	return s, nil
}

// schemaCache holds this process's compiled schemas, by version ID, and
// the latest versions of each account's schemas (0: every account's) as
// read at most schemaListTTL ago.
type schemaCache struct {
	mu       sync.Mutex
	compiled map[int64]*jsonschema.Schema
	latest   map[int64]latestSchemas
	// used holds the versions this process marked used since it read
	// them as unused (the cached rows are not changed).
	used map[int64]bool
	// gen counts the changes forgotten: a read that began before one is
	// not kept.
	gen uint64
	// clock is time.Now unless a test sets it.
	clock func() time.Time
}

// latestSchemas is the latest version of each of an account's schemas,
// as read at a moment; its versions are never changed once cached.
type latestSchemas struct {
	at       time.Time
	versions []*audit.EventSchema
}

// forget drops what the cache knows of an account's latest versions, and
// of every account's when account is 0 (an all-accounts schema applies
// to each): the next request reads them again.
func (c *schemaCache) forget(account int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if account == 0 {
		c.latest = nil
		return
	}
	delete(c.latest, account)
}

// markUsed records that the process marked version id used.
func (c *schemaCache) markUsed(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used == nil || len(c.used) >= maxCompiledSchemas {
		c.used = map[int64]bool{}
	}
	c.used[id] = true
}

// isUsed reports whether the process marked version id used.
func (c *schemaCache) isUsed(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used[id]
}

// latestSchemas returns the latest versions of the accounts' schemas,
// from the cache when read less than schemaListTTL ago, reading those of
// the other accounts in one query.
func (a *App) latestSchemas(ctx context.Context, accounts []int64) ([]*audit.EventSchema, error) {
	c := &a.schemas
	now := time.Now()
	if c.clock != nil {
		now = c.clock()
	}
	var out []*audit.EventSchema
	var missing []int64
	c.mu.Lock()
	for _, acct := range accounts {
		if l, ok := c.latest[acct]; ok && now.Sub(l.at) < schemaListTTL {
			out = append(out, l.versions...)
		} else {
			missing = append(missing, acct)
		}
	}
	gen := c.gen
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	read, err := a.store.LatestEventSchemas(ctx, missing)
	if err != nil {
		return nil, err
	}
	out = append(out, read...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return out, nil // a change in this process since: not kept
	}
	if c.latest == nil || len(c.latest) >= maxCachedSchemaAccounts {
		c.latest = map[int64]latestSchemas{}
	}
	for _, acct := range missing {
		l := latestSchemas{at: now}
		for _, v := range read {
			if v.AccountID == acct {
				l.versions = append(l.versions, v)
			}
		}
		c.latest[acct] = l
	}
	return out, nil
}

// compiled returns the compiled schemas of the versions, loading the
// bodies of those not cached yet in one read.
func (a *App) compiledSchemas(ctx context.Context, versions []*audit.EventSchema) (map[int64]*jsonschema.Schema, error) {
	c := &a.schemas
	out := map[int64]*jsonschema.Schema{}
	var missing []int64
	c.mu.Lock()
	for _, v := range versions {
		if s := c.compiled[v.ID]; s != nil {
			out[v.ID] = s
		} else {
			missing = append(missing, v.ID)
		}
	}
	c.mu.Unlock()
	for _, id := range missing {
		s, err := a.store.EventSchema(ctx, id)
		if errors.Is(err, audit.ErrNotFound) {
			c.forget(0) // deleted by another process: read the versions again
			return nil, errEventSchemaGone
		} else if err != nil {
			return nil, err
		}
		compiled, err := compileEventSchema(s.Body)
		if err != nil {
			return nil, fmt.Errorf("app: compile stored event schema %d: %w", id, err)
		}
		out[id] = compiled
		c.mu.Lock()
		if c.compiled == nil || len(c.compiled) >= maxCompiledSchemas {
			c.compiled = map[int64]*jsonschema.Schema{}
		}
		c.compiled[id] = compiled
		c.mu.Unlock()
	}
	return out, nil
}

// checkSchemas checks events against the event schemas that apply to
// them (who[i] is event i's principal, nil when its account is unknown;
// bad lists the events that already have problems, which are not checked
// again) and returns the problems found and the versions that checked an
// event.
func (a *App) checkSchemas(ctx context.Context, who []*Principal, ins []ingest.EventInput, bad map[int]bool) ([]ingest.Problem, []*audit.EventSchema, error) {
	accounts := []int64{0}
	var actions []string
	for i, p := range who {
		if p == nil || bad[i] {
			continue
		}
		if !slices.Contains(accounts, p.AccountID) {
			accounts = append(accounts, p.AccountID)
		}
		if !slices.Contains(actions, ins[i].Action) {
			actions = append(actions, ins[i].Action)
		}
	}
	if len(actions) == 0 {
		return nil, nil, nil
	}
	all, err := a.latestSchemas(ctx, accounts)
	if err != nil {
		return nil, nil, err
	}
	var latest []*audit.EventSchema
	for _, v := range all {
		if slices.Contains(actions, v.Action) {
			latest = append(latest, v)
		}
	}
	if len(latest) == 0 {
		return nil, nil, nil
	}
	compiled, err := a.compiledSchemas(ctx, latest)
	if err != nil {
		return nil, nil, err
	}
	type key struct {
		account int64
		action  string
	}
	byKey := map[key]*audit.EventSchema{}
	for _, v := range latest {
		byKey[key{v.AccountID, v.Action}] = v
	}
	var problems []ingest.Problem
	var used []*audit.EventSchema
	for i, p := range who {
		if p == nil || bad[i] {
			continue
		}
		var instance any
		for _, v := range []*audit.EventSchema{byKey[key{0, ins[i].Action}], byKey[key{p.AccountID, ins[i].Action}]} {
			if v == nil {
				continue
			}
			if !slices.Contains(used, v) {
				used = append(used, v)
			}
			if instance == nil {
				raw, err := ins[i].SchemaInstance()
				if err != nil {
					return nil, nil, fmt.Errorf("app: encode event for its schema: %w", err)
				}
				if instance, err = jsonschema.UnmarshalJSON(bytes.NewReader(raw)); err != nil {
					return nil, nil, fmt.Errorf("app: decode event for its schema: %w", err)
				}
			}
			err := compiled[v.ID].Validate(instance)
			var ve *jsonschema.ValidationError
			if errors.As(err, &ve) {
				problems = append(problems, schemaProblems(i, v, ve)...)
			} else if err != nil {
				return nil, nil, fmt.Errorf("app: check event against schema %d: %w", v.ID, err)
			}
		}
	}
	return problems, used, nil
}

// schemaProblems turns a validation error into problems of event i: one
// per failing keyword (at most maxSchemaProblems), each naming the field
// and, in its message, its JSON pointer.
func schemaProblems(i int, v *audit.EventSchema, ve *jsonschema.ValidationError) []ingest.Problem {
	var out []ingest.Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(out) >= maxSchemaProblems {
			return
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		loc := slices.Clone(e.InstanceLocation)
		if req, ok := e.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
			loc = append(loc, req.Missing[0]) // the missing member is the field at fault
		}
		ptr := pointerOf(loc)
		field := ingest.FieldPath(ptr)
		if field == "" {
			field = "event"
		}
		scope := "this account's"
		if v.AllAccounts() {
			scope = "the platform's"
		}
		out = append(out, ingest.Problem{Index: i, Field: field, Message: fmt.Sprintf("%s does not match %s schema of %s (version %d) at %s: %s.",
			field, scope, v.Action, v.Version, quotePointer(ptr), e.ErrorKind.LocalizedString(schemaPrinter))})
	}
	walk(ve)
	return out
}

// pointerOf is the JSON pointer of the tokens.
func pointerOf(tokens []string) string {
	var b bytes.Buffer
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// quotePointer shows a JSON pointer, the root as "" (the whole event).
func quotePointer(ptr string) string {
	if ptr == "" {
		return `"" (the whole event)`
	}
	return strconv.Quote(ptr)
}

// markSchemasUsed marks the versions that checked a request's events as
// used, before the events are written, so that none of them can be deleted
// once an event it checked is stored (a version read as used, or that
// this process marked, costs nothing). A version deleted meanwhile fails
// the request (errEventSchemaGone): the client sends it again.
func (a *App) markSchemasUsed(ctx context.Context, used []*audit.EventSchema) error {
	for _, v := range used {
		if v.Used() || a.schemas.isUsed(v.ID) {
			continue
		}
		err := a.store.MarkEventSchemaUsed(ctx, v.ID, a.now().UTC())
		switch {
		case errors.Is(err, audit.ErrNotFound):
			a.schemas.forget(0) // deleted by another process: read the versions again
			return errEventSchemaGone
		case err != nil:
			return err
		}
		a.schemas.markUsed(v.ID)
	}
	return nil
}
