package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// perPage is the explorer's page size: a page of 50 rows stays far below
// the 100 KB a page may weigh.
const perPage = 50

// maxTrail bounds how many earlier pages a "Newer" link can go back
// through by cursor; past it, "Newer" returns to the first page.
const maxTrail = 40

// searchReady turns on the explorer's search box (the q parameter of
// docs/search.md, passed to ListEvents and kept in every paging link) and
// the event page's links by resource ID and IP address.
const searchReady = true

// preset is a date range of the explorer: the last Span, by name.
type preset struct {
	Name, Label string
	Span        time.Duration
}

// presets are the explorer's date ranges.
var presets = []preset{
	{"", "Any time", 0},
	{"1h", "Last hour", time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"30d", "Last 30 days", 30 * 24 * time.Hour},
	{"custom", "Custom dates", 0},
}

// explorerView is the body of the events page.
type explorerView struct {
	Form     filterForm
	Users    []*audit.User // for the user filter; nil when the role may not list users
	Presets  []preset
	Events   []*audit.Event
	Total    int64
	AtLeast  bool // Total is a lower bound (the store's count stopped: docs/api.md, the totals rule)
	First    bool // the first page
	NewerURL string
	OlderURL string
	// Exports link to the export of the listed selection in each format.
	Exports   []exportLink
	Filtered  bool
	Field     string // the filter at fault
	Error     string
	Search    bool
	Actions   []string
	Resources []string
	// Base is the listing's path (/events, or /embed in the embedded
	// viewer) and EventPath the prefix of an event's page.
	Base, EventPath string
	// Embedded is set in the embedded viewer.
	Embedded bool
	// LiveURL is the live tail of the listing's filters and search
	// (GET /api/audit-logs/stream, without the scheme and host, which
	// the script takes from the page), on the console's first page only;
	// AfterSeq is the highest seq the page lists, where the tail resumes
	// from (0: the page lists none, and the tail starts at the log's end).
	LiveURL  string
	AfterSeq int64
}

// filterForm is the explorer's filters as the browser sent them.
type filterForm struct {
	Action, ResourceType, UserID, Range, Start, End string
	// Since pins a preset's start once the first page is shown, so that
	// the pages after it belong to the same listing (a cursor is bound to
	// its filter).
	Since string
	Q     string
}

func readFilterForm(q url.Values) filterForm {
	return filterForm{
		Action: strings.TrimSpace(q.Get("action")), ResourceType: strings.TrimSpace(q.Get("resource_type")),
		UserID: q.Get("user_id"), Range: q.Get("range"), Start: q.Get("start"), End: q.Get("end"),
		Since: q.Get("since"), Q: q.Get("q"),
	}
}

// filter turns the form into the app's filter, with the same parameter
// rules as the API's list (the field names are the form's).
func (f *filterForm) filter(now time.Time) (audit.EventFilter, error) {
	var out audit.EventFilter
	if f.UserID != "" {
		id, err := strconv.ParseInt(f.UserID, 10, 64)
		if err != nil || id < 1 {
			return out, audit.FieldError("user_id", "Choose a user from the list.")
		}
		out.UserID = id
	}
	out.Action, out.ResourceType = f.Action, f.ResourceType
	if err := audit.ValidateText("action", f.Action, audit.MaxFilterLen, false); err != nil {
		return out, err
	}
	if err := audit.ValidateText("resource_type", f.ResourceType, audit.MaxFilterLen, false); err != nil {
		return out, err
	}
	if f.Range == "" && (f.Start != "" || f.End != "") {
		f.Range = "custom" // dates typed without choosing the range (no JavaScript)
	}
	switch f.Range {
	case "":
	case "custom":
		var err error
		if f.Start != "" {
			if out.Start, err = audit.ParseTimeBound(f.Start, false); err != nil {
				return out, audit.FieldError("start", "Give the first day as a date, like 2024-01-31.")
			}
		}
		if f.End != "" {
			if out.End, err = audit.ParseTimeBound(f.End, true); err != nil {
				return out, audit.FieldError("end", "Give the last day as a date, like 2024-01-31.")
			}
			out.End = out.End.Truncate(time.Microsecond)
		}
		if !out.Start.IsZero() && !out.End.IsZero() && out.Start.After(out.End) {
			return out, audit.FieldError("start", "The first day must not be after the last day.")
		}
	default:
		span := time.Duration(0)
		for _, p := range presets {
			if p.Name == f.Range {
				span = p.Span
			}
		}
		if span == 0 {
			return out, audit.FieldError("range", "Choose a date range from the list.")
		}
		since, err := time.Parse(time.RFC3339Nano, f.Since)
		if f.Since == "" || err != nil {
			since = now.Add(-span)
		}
		out.Start = since.UTC().Truncate(time.Microsecond)
		f.Since = out.Start.Format(timeLayout)
	}
	return out, nil
}

// query is the form as URL parameters, without paging.
func (f filterForm) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("action", f.Action)
	set("resource_type", f.ResourceType)
	set("user_id", f.UserID)
	set("range", f.Range)
	if f.Range == "custom" {
		set("start", f.Start)
		set("end", f.End)
	} else if f.Range != "" {
		set("since", f.Since)
	}
	if searchReady {
		set("q", f.Q)
	}
	return q
}

// exportLink is one export button: its label and URL.
type exportLink struct{ Label, URL string }

// exportFormats are the export formats the explorer offers, in order.
var exportFormats = []struct{ format, label string }{
	{"csv", "Export CSV"}, {"pdf", "PDF report"}, {"ndjson", "Verifiable NDJSON"},
}

// exportLinks links to GET /api/audit-logs/export of the filter and
// search, once per format.
func exportLinks(f audit.EventFilter, search string) []exportLink {
	var links []exportLink
	for _, x := range exportFormats {
		q := url.Values{"format": {x.format}}
		for k, v := range app.FilterParams(f) {
			q.Set(k, v)
		}
		if search != "" {
			q.Set("q", search)
		}
		links = append(links, exportLink{x.label, "/api/audit-logs/export?" + q.Encode()})
	}
	return links
}

// explorer lists the account's events, newest first, with filters and
// cursor paging (app.ListEvents).
func (c *Console) explorer(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	ctx := r.Context()
	qs := r.URL.Query()
	form := readFilterForm(qs)
	v := explorerView{Form: form, Presets: presets, Search: searchReady, Actions: knownActions, Resources: knownResources,
		Base: "/events", EventPath: "/events/"}
	if p.Viewer != nil {
		v.Base, v.EventPath, v.Embedded = embedPath, embedPath+"/events/", true
		v.Search = p.Viewer.Has(app.FeatureSearch)
		if !v.Search {
			v.Form.Q = "" // the box is not shown; a q typed into the URL is not a search the grant allows
		}
	}
	if p.Authorize(audit.PermViewUsers) == nil {
		users, err := c.app.Users(ctx, p)
		if err != nil {
			return err
		}
		v.Users = users
	}
	f, err := v.Form.filter(c.now())
	if err != nil {
		if audit.ErrorCode(err) != audit.EINVALID {
			return err
		}
		v.Field, v.Error = audit.ErrorField(err), audit.ErrorMessage(err)
		c.render(w, r, http.StatusBadRequest, "events", c.pageView(p, "Events", v))
		return nil
	}
	cursor := qs.Get("cursor")
	var trail []string
	if t := qs.Get("trail"); t != "" && cursor != "" {
		trail = strings.Split(t, ".")
	}
	list, err := c.app.ListEvents(ctx, p, app.EventQuery{Filter: f, Search: v.Form.Q, Page: audit.PageRequest{Page: 1, PerPage: perPage}, Cursor: cursor})
	if audit.ErrorCode(err) == audit.EINVALID && audit.ErrorField(err) == "q" {
		// A search the language does not accept: say where, beside the box.
		v.Field, v.Error = "q", audit.ErrorMessage(err)
		c.render(w, r, http.StatusBadRequest, "events", c.pageView(p, "Events", v))
		return nil
	}
	if audit.ErrorField(err) == "cursor" {
		// A link from another listing, or one older than a change of the
		// service's key: start the listing again.
		http.Redirect(w, r, v.Base+"?"+v.Form.query().Encode(), http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	v.Events, v.Total, v.AtLeast, v.First = list.Events, list.Pagination.Total, list.Pagination.TotalInexact, cursor == ""
	v.Filtered = f != (audit.EventFilter{}) || v.Form.Q != ""
	base := v.Form.query()
	if list.NextCursor != "" {
		q := cloneValues(base)
		q.Set("cursor", list.NextCursor)
		next := trail
		if cursor != "" {
			next = append(append([]string(nil), trail...), cursor)
		}
		if len(next) > maxTrail {
			next = next[len(next)-maxTrail:]
		}
		if len(next) > 0 {
			q.Set("trail", strings.Join(next, "."))
		}
		v.OlderURL = v.Base + "?" + q.Encode()
	}
	if cursor != "" {
		q := cloneValues(base)
		if n := len(trail); n > 0 {
			q.Set("cursor", trail[n-1])
			if n > 1 {
				q.Set("trail", strings.Join(trail[:n-1], "."))
			}
		}
		v.NewerURL = v.Base + "?" + q.Encode()
	}
	if p.Viewer == nil && cursor == "" {
		v.LiveURL = liveURL(f, v.Form.Q)
		for _, e := range list.Events {
			v.AfterSeq = max(v.AfterSeq, e.Seq)
		}
	}
	switch {
	case p.Viewer == nil:
		v.Exports = exportLinks(f, v.Form.Q)
	case p.Viewer.Has(app.FeatureExport):
		v.Exports = embedExportLinks(base)
	}
	c.render(w, r, http.StatusOK, "events", c.pageView(p, "Events", v))
	return nil
}

// liveURL is the live tail (GET /api/audit-logs/stream) of the filter
// and search, as the export links name them.
func liveURL(f audit.EventFilter, search string) string {
	q := url.Values{}
	for k, v := range app.FilterParams(f) {
		q.Set(k, v)
	}
	if search != "" {
		q.Set("q", search)
	}
	if len(q) == 0 {
		return "/api/audit-logs/stream"
	}
	return "/api/audit-logs/stream?" + q.Encode()
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// knownActions and knownResources suggest filter values: the service's own
// actions and resource types (platform services add their own, which the
// filter takes as typed).
var (
	knownActions = []string{
		audit.ActionUserLogin, audit.ActionLoginFailed, audit.ActionUserLogout, audit.ActionAccountCreated,
		audit.ActionUserCreated, audit.ActionLogExported, audit.ActionAPIKeyCreated, audit.ActionAPIKeyRevoked,
	}
	knownResources = []string{audit.ResourceUser, audit.ResourceAccount, audit.ResourceAuditLog, audit.ResourceAPIKey}
)

// eventView is the body of the event page.
type eventView struct {
	Event         *audit.Event
	Origin        string // the name the event's log must have
	TreeSize      int64  // the latest checkpoint's size when the page was made
	Changes       []change
	Metadata      []field
	RawMeta       string // the metadata as stored, when it is not an object
	RawChanges    string // the changes as stored, when they are not a list of changes
	ActorURL      string
	ResourceURL   string
	ResourceIDURL string
	IPURL         string
	Search        bool
	Leaf          leafData
	// Base is the listing's path (/events or /embed); ProofURL is where
	// the badge fetches the proof, "" when the page shows no badge.
	Base, ProofURL string
	Embedded       bool
}

// leafData is what the browser needs to recompute an event's leaf hash
// from its fields (docs/verification.md §1–2), each exactly as stored:
// numbers in decimal, times in Unix microseconds (OccurredAt "" when not
// given), text as the base64 of its bytes (an HTML attribute would turn a
// stored CR LF into LF).
type leafData struct {
	AccountID, Seq, CreatedAt, OccurredAt, UserID                                    string
	ActorType, EventID, Action, ResourceType, ResourceID, Outcome                    string
	ActorID, ActorEmail, ActorName, IPAddress, UserAgent, Details, Metadata, Changes string
	// Salt keys the commitment to the personal fields; "" once they have
	// been erased, when Commitment alone stands for them.
	Salt, Commitment string
}

func leafOf(e *audit.Event) leafData {
	micros := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(t.UnixMicro(), 10)
	}
	b := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	d := leafData{
		AccountID: strconv.FormatInt(e.AccountID, 10), Seq: strconv.FormatInt(e.Seq, 10),
		CreatedAt: micros(e.CreatedAt), OccurredAt: micros(e.OccurredAt), UserID: strconv.FormatInt(e.UserID, 10),
		ActorType: b(e.ActorType), EventID: b(e.EventID), Action: b(e.Action), ResourceType: b(e.ResourceType),
		ResourceID: b(e.ResourceID), Outcome: b(e.Outcome), ActorID: b(e.ActorID), ActorEmail: b(e.ActorEmail),
		ActorName: b(e.ActorName), IPAddress: b(e.IPAddress), UserAgent: b(e.UserAgent), Details: b(e.Details),
		Metadata: b(string(e.Metadata)), Changes: b(string(e.Changes)),
		Commitment: base64.StdEncoding.EncodeToString(e.Commitment[:]),
	}
	if e.Salt != nil {
		d.Salt = base64.StdEncoding.EncodeToString(e.Salt)
	}
	return d
}

// change is one entry of an event's changes: a field before and after.
type change struct {
	Field          string
	Old, New       string
	OldSet, NewSet bool
}

// field is a member of an event's metadata, as text.
type field struct{ Name, Value string }

// eventPage shows one event with every field (app.ProveEvent: the event as
// stored, with its place in the log at the latest checkpoint).
func (c *Console) eventPage(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != r.PathValue("id") {
		return app.ErrEventNotFound
	}
	v := eventView{Origin: c.app.Origin(p.AccountID), Search: searchReady, Base: "/events",
		ProofURL: "/api/audit-logs/" + strconv.FormatInt(id, 10) + "/proof"}
	if p.Viewer != nil {
		v.Base, v.Embedded, v.Search = embedPath, true, p.Viewer.Has(app.FeatureSearch)
		v.ProofURL = embedPath + "/proof/" + strconv.FormatInt(id, 10)
	}
	if p.Viewer != nil && !p.Viewer.Has(app.FeatureVerify) {
		// No proof for this viewer: the event alone, without the badge.
		e, err := c.app.Event(r.Context(), p, id)
		if err != nil {
			return err
		}
		v.Event, v.ProofURL = e, ""
	} else {
		proof, err := c.app.ProveEvent(r.Context(), p, id, 0)
		if err != nil {
			return err
		}
		v.Event, v.TreeSize = proof.Event, proof.Checkpoint.Size
	}
	e := v.Event
	v.Leaf = leafOf(e)
	v.Changes, v.RawChanges = readChanges(e.Changes)
	v.Metadata, v.RawMeta = readMetadata(e.Metadata)
	if e.UserID != 0 {
		v.ActorURL = v.Base + "?user_id=" + strconv.FormatInt(e.UserID, 10)
	}
	if e.ResourceType != "" {
		v.ResourceURL = v.Base + "?" + url.Values{"resource_type": {e.ResourceType}}.Encode()
	}
	if v.Search {
		if e.ResourceID != "" {
			v.ResourceIDURL = v.Base + "?" + url.Values{"q": {"resource:" + quoteTerm(e.ResourceType+":"+e.ResourceID)}}.Encode()
		}
		if e.IPAddress != "" {
			v.IPURL = v.Base + "?" + url.Values{"q": {"ip:" + e.IPAddress}}.Encode()
		}
	}
	c.render(w, r, http.StatusOK, "event", c.pageView(p, "Event "+e.Action, v))
	return nil
}

// quoteTerm quotes a search value as docs/search.md says.
func quoteTerm(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// readChanges reads the stored changes, a JSON list of {field, old, new};
// anything else comes back as its text.
func readChanges(b []byte) ([]change, string) {
	if len(b) == 0 {
		return nil, ""
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, string(b)
	}
	out := make([]change, 0, len(raw))
	for _, m := range raw {
		var name string
		if err := json.Unmarshal(m["field"], &name); err != nil {
			return nil, string(b)
		}
		ch := change{Field: name}
		ch.Old, ch.OldSet = jsonText(m["old"])
		ch.New, ch.NewSet = jsonText(m["new"])
		out = append(out, ch)
	}
	return out, ""
}

// readMetadata reads the stored metadata, a JSON object, as its members in
// stored order; anything else comes back as its text.
func readMetadata(b []byte) ([]field, string) {
	if len(b) == 0 {
		return nil, ""
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, string(b)
	}
	var out []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, string(b)
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, string(b)
		}
		text, _ := jsonText(v)
		out = append(out, field{Name: name, Value: text})
	}
	return out, ""
}

// jsonText is a JSON value as a person reads it: a string without its
// quotes, anything else as compact JSON; set is false when the value is
// absent or null.
func jsonText(v json.RawMessage) (text string, set bool) {
	if len(v) == 0 || string(v) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, true
	}
	return string(v), true
}
