package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// Application is what the assistant needs of the application layer;
// *app.App implements it.
type Application interface {
	Reads
	Users(ctx context.Context, p *app.Principal) ([]*audit.User, error)
	AuthorizeChat(p *app.Principal) error
	ChatConversation(ctx context.Context, p *app.Principal, id int64) (*audit.ChatConversation, []*audit.ChatTurn, error)
	RecordChatTurn(ctx context.Context, p *app.Principal, c app.Client, in app.ChatTurnInput) (*audit.ChatConversation, *audit.ChatTurn, error)
}

var _ Application = (*app.App)(nil)

// Assistant answers questions in conversations: it interprets each with
// the conversation's last plan, runs it as the asker, and keeps the turn.
type Assistant struct {
	app Application
	now func() time.Time
	llm *LLM
	log *slog.Logger
}

// NewAssistant returns an assistant over a; now is the clock (nil:
// time.Now). With llm, a language model answers (the built-in engine when
// the model's endpoint fails); without, the built-in engine does.
func NewAssistant(a Application, now func() time.Time, llm *LLM, log *slog.Logger) *Assistant {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Assistant{app: a, now: now, llm: llm, log: log}
}

// Request is one question.
type Request struct {
	Message string
	// ConversationID continues one of the asker's conversations; 0 starts
	// a new one.
	ConversationID int64
	// Timezone is an IANA zone name ("Europe/Paris") the question's times
	// are read in; "" keeps the conversation's, else UTC.
	Timezone string
}

// Reply is the answer to one question.
type Reply struct {
	*Answer
	ConversationID int64
}

// vocabularyRange is how far back the actions of an account's vocabulary
// are read (from the analytics counts).
const vocabularyRange = 366 * 24 * time.Hour

// Ask answers req as p (a signed-in owner or admin), from p's account's
// events only, and keeps the question and answer in p's conversation.
func (as *Assistant) Ask(ctx context.Context, p *app.Principal, c app.Client, req Request) (*Reply, error) {
	if err := as.app.AuthorizeChat(p); err != nil {
		return nil, err
	}
	if err := app.CheckChatMessage(req.Message); err != nil {
		return nil, err
	}
	var prev *Plan
	fallback := ""
	var turns []*audit.ChatTurn
	if req.ConversationID != 0 {
		var err error
		if _, turns, err = as.app.ChatConversation(ctx, p, req.ConversationID); err != nil {
			return nil, err
		}
		for i := len(turns) - 1; i >= 0 && prev == nil; i-- {
			var pl Plan
			if json.Unmarshal(turns[i].Plan, &pl) == nil && pl.Kind != KindUnknown {
				prev = &pl
			}
		}
	}
	zone := req.Timezone
	if zone == "" && prev != nil {
		zone = prev.Timezone
	}
	loc, err := Location(zone)
	if err != nil {
		return nil, err
	}
	now := as.now()
	if as.llm != nil {
		ans, err := as.llm.Answer(ctx, as.app, p, turns, req.Message, now, loc)
		if err == nil {
			if err := as.keep(ctx, p, c, req, ans); err != nil {
				return nil, err
			}
			return &Reply{Answer: ans, ConversationID: ans.conversationID}, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		as.log.WarnContext(ctx, "chat: the language model failed; the built-in engine answers", "err", err)
		fallback = "The language model could not answer, so the built-in engine did. "
	}
	ictx := Context{Now: now, Location: loc, Previous: prev, Asker: p.User.Email}
	if ictx.Actions, err = as.vocabulary(ctx, p, now); err != nil {
		return nil, err
	}
	users, err := as.app.Users(ctx, p)
	if err != nil && audit.ErrorCode(err) != audit.EFORBIDDEN {
		return nil, fmt.Errorf("chat: users: %w", err)
	}
	for _, u := range users {
		ictx.People = append(ictx.People, Person{Email: u.Email, FirstName: u.FirstName, LastName: u.LastName})
	}
	plan := Interpret(req.Message, ictx)
	ans, err := Run(ctx, as.app, p, plan, now, loc)
	if err != nil {
		return nil, err
	}
	ans.Text = fallback + ans.Text
	if err := as.keep(ctx, p, c, req, ans); err != nil {
		return nil, err
	}
	return &Reply{Answer: ans, ConversationID: ans.conversationID}, nil
}

// keep stores the turn and records the question.
func (as *Assistant) keep(ctx context.Context, p *app.Principal, c app.Client, req Request, ans *Answer) error {
	planJSON, err := json.Marshal(ans.Plan)
	if err != nil {
		return fmt.Errorf("chat: encode plan: %w", err)
	}
	in := app.ChatTurnInput{
		ConversationID: req.ConversationID, Question: req.Message, Answer: ans.Text,
		Search: ans.Plan.Search(), Aggregation: ans.Plan.Aggregation(), Plan: planJSON,
	}
	for _, e := range ans.Events {
		in.Cited = append(in.Cited, audit.Citation{ID: e.ID, Seq: e.Seq})
	}
	conv, _, err := as.app.RecordChatTurn(ctx, p, c, in)
	if err != nil {
		return err
	}
	ans.conversationID = conv.ID
	return nil
}

// vocabulary returns the actions of p's account's events in the last
// year, the most frequent first (at most app.MaxTopLimit).
func (as *Assistant) vocabulary(ctx context.Context, p *app.Principal, now time.Time) ([]string, error) {
	top, err := as.app.AnalyticsTop(ctx, p, app.AnalyticsQuery{Start: now.Add(-vocabularyRange), End: now, Dimension: "action", Limit: app.MaxTopLimit})
	if err != nil {
		return nil, fmt.Errorf("chat: vocabulary: %w", err)
	}
	out := make([]string, len(top.Values))
	for i, v := range top.Values {
		out[i] = v.Value
	}
	return out, nil
}

// Location loads an IANA time zone by name; "" is UTC. An unknown name
// is an *audit.Error on the field timezone.
func Location(name string) (*time.Location, error) {
	if name == "" || strings.EqualFold(name, "UTC") {
		return time.UTC, nil
	}
	if name == "Local" || len(name) > 64 {
		return nil, errBadZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errBadZone
	}
	return loc, nil
}

var errBadZone = audit.FieldError("timezone", "timezone must be an IANA time zone name, such as Europe/Paris or America/New_York.")
