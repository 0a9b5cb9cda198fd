package web

import (
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// streamsView is the body of the streams page.
type streamsView struct {
	Streams []*audit.Stream
	Types   []streamType
	New     newStreamForm
	// Created is the stream just created and Secret its generated webhook
	// secret, shown this once ("" when the caller gave one).
	Created *audit.Stream
	Secret  string
	// Tested is the stream just tested, and how the test went.
	Tested *audit.Stream
	Test   *app.StreamTest
	Done   string
	// RowID, RowError: an error of a stream's row.
	RowID    int64
	RowError string
}

// streamType is a destination kind, as the form offers it.
type streamType struct{ Value, Label, Secret string }

// streamTypes are the destinations of the create form, with what their
// secret is.
var streamTypes = []streamType{
	{audit.StreamWebhook, "Webhook (signed JSON)", "Signing secret (leave empty to have one generated)"},
	{audit.StreamSplunk, "Splunk HTTP Event Collector", "HEC token"},
	{audit.StreamDatadog, "Datadog logs", "Datadog API key"},
}

// newStreamForm is the create form as sent, with the error of its field.
type newStreamForm struct {
	Name, Type, URL string
	Field, Error    string
}

// streams lists the account's streams (app.Streams).
func (c *Console) streams(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	return c.renderStreams(w, r, p, http.StatusOK, streamsView{Done: doneMessages[r.URL.Query().Get("done")]})
}

func (c *Console) renderStreams(w http.ResponseWriter, r *http.Request, p *app.Principal, status int, v streamsView) error {
	list, err := c.app.Streams(r.Context(), p)
	if err != nil {
		return err
	}
	v.Streams, v.Types = list, streamTypes
	if v.New.Type == "" {
		v.New.Type = audit.StreamWebhook
	}
	c.render(w, r, status, "streams", view{Title: "Streams", Principal: p, Active: "/account", Body: v})
	return nil
}

// createStream creates a stream (app.CreateStream). The answer is the page
// itself, so a generated secret is shown once and travels in no URL; a
// secret the caller typed is never shown back.
func (c *Console) createStream(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	form := newStreamForm{Name: r.PostFormValue("name"), Type: r.PostFormValue("type"), URL: r.PostFormValue("url")}
	s, secret, err := c.app.CreateStream(r.Context(), p, c.client(r), app.NewStream{
		Name: form.Name, Type: form.Type, URL: form.URL, Secret: r.PostFormValue("secret"),
	})
	if err != nil {
		field, msg, ok := formError(err)
		if !ok {
			return err
		}
		form.Field, form.Error = field, msg
		return c.renderStreams(w, r, p, statusOf(err), streamsView{New: form})
	}
	return c.renderStreams(w, r, p, http.StatusCreated, streamsView{Created: s, Secret: secret, Done: "The stream was created. It delivers the events recorded from now on."})
}

// streamView is the body of a stream's page.
type streamView struct {
	Stream *audit.Stream
	Form   streamForm
}

// streamForm is a stream's edit form as sent, with the error of its field.
type streamForm struct {
	Name, URL    string
	Field, Error string
}

// streamPage shows a stream with its edit form and its pause or resume
// button (app.Stream).
func (c *Console) streamPage(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return app.ErrStreamNotFound
	}
	s, err := c.app.Stream(r.Context(), p, id)
	if err != nil {
		return err
	}
	return c.renderStream(w, r, p, http.StatusOK, streamView{Stream: s, Form: streamForm{Name: s.Name, URL: s.URL}})
}

func (c *Console) renderStream(w http.ResponseWriter, r *http.Request, p *app.Principal, status int, v streamView) error {
	c.render(w, r, status, "stream", view{Title: "Stream", Principal: p, Active: "/account", Body: v})
	return nil
}

// editStream changes a stream's name and URL, and its secret when one is
// typed (app.UpdateStream, as PATCH /api/streams/{id}); errors show beside
// their field.
func (c *Console) editStream(w http.ResponseWriter, r *http.Request, p *app.Principal, id int64) error {
	form := streamForm{Name: r.PostFormValue("name"), URL: r.PostFormValue("url")}
	in := app.StreamChange{Name: &form.Name, URL: &form.URL}
	if secret := r.PostFormValue("secret"); secret != "" {
		in.Secret = &secret
	}
	_, err := c.app.UpdateStream(r.Context(), p, c.client(r), id, in)
	if err != nil {
		field, msg, ok := formError(err)
		if !ok {
			return err
		}
		s, err2 := c.app.Stream(r.Context(), p, id)
		if err2 != nil {
			return err2
		}
		form.Field, form.Error = field, msg
		return c.renderStream(w, r, p, statusOf(err), streamView{Stream: s, Form: form})
	}
	http.Redirect(w, r, "/account/streams?done=stream-updated", http.StatusSeeOther)
	return nil
}

// streamAction edits, pauses, resumes, tests or deletes a stream
// (app.UpdateStream, PauseStream, ResumeStream, TestStream, DeleteStream).
func (c *Console) streamAction(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return app.ErrStreamNotFound
	}
	ctx, client := r.Context(), c.client(r)
	done := ""
	switch r.PathValue("action") {
	case "edit":
		return c.editStream(w, r, p, id)
	case "pause":
		done = "stream-paused"
		_, err = c.app.PauseStream(ctx, p, client, id)
	case "resume":
		done = "stream-resumed"
		_, err = c.app.ResumeStream(ctx, p, client, id)
	case "delete":
		done = "stream-deleted"
		err = c.app.DeleteStream(ctx, p, client, id)
	case "test":
		res, err := c.app.TestStream(ctx, p, id, c.checkpoint)
		if err != nil {
			return err
		}
		s, err := c.app.Stream(ctx, p, id)
		if err != nil {
			return err
		}
		return c.renderStreams(w, r, p, http.StatusOK, streamsView{Tested: s, Test: res})
	default:
		return errPageNotFound
	}
	if err != nil {
		if _, msg, ok := formError(err); ok || audit.ErrorCode(err) == audit.ECONFLICT {
			if !ok {
				msg = audit.ErrorMessage(err)
			}
			return c.renderStreams(w, r, p, statusOf(err), streamsView{RowID: id, RowError: msg})
		}
		return err
	}
	http.Redirect(w, r, "/account/streams?done="+done, http.StatusSeeOther)
	return nil
}

// checkpoint encodes the account's checkpoint for a test delivery, as the
// streams deliver it: the JSON API's encoding (Deps.StreamCheckpoint),
// or none when the console has none.
func (c *Console) checkpoint(cp *sqlstore.Checkpoint) ([]byte, error) {
	if c.encodeCheckpoint == nil {
		return nil, nil
	}
	return c.encodeCheckpoint(cp)
}
