package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/stream"
)

// Streams deliver an account's events to SIEM tools (package stream
// delivers them; docs/streams.md). The rules are here: owners and admins
// configure them (audit.PermManageStreams), destinations are https:// and
// public unless the operator allows otherwise (config STREAMS_ALLOW_HTTP,
// STREAMS_ALLOW_PRIVATE; stream.Policy), secrets are sealed at rest and
// never shown again, and every change of configuration is recorded in the
// account's audit trail, in the transaction that makes it.

// ErrStreamNotFound means no stream with the ID is in the caller's account.
var ErrStreamNotFound = audit.Errorf(audit.ENOTFOUND, "Stream not found.")

// webhookSecretType starts every generated webhook signing secret.
const webhookSecretType = "whsec_"

// minWebhookSecretLen bounds a webhook signing secret from below: shorter
// ones could be guessed.
const minWebhookSecretLen = 16

// NewStream is what creating a stream takes.
type NewStream struct {
	Name string
	Type string // audit.StreamWebhook, audit.StreamSplunk or audit.StreamDatadog
	URL  string
	// Secret is the webhook signing secret (generated when empty), the
	// Splunk HEC token or the Datadog API key.
	Secret string
}

// StreamChange is what updating a stream takes; nil fields stay as they
// are.
type StreamChange struct {
	Name, URL, Secret *string
}

// StreamPolicy is where the configuration lets streams deliver.
func (a *App) StreamPolicy() stream.Policy {
	return stream.Policy{AllowHTTP: a.cfg.StreamsAllowHTTP, AllowPrivate: a.cfg.StreamsAllowPrivate}
}

// StreamHost is how streams name the service to the destinations whose
// format carries a host (Splunk HEC, Datadog): LOG_NAME.
func (a *App) StreamHost() string { return a.cfg.LogName }

// OpenStreamSecret returns the destination secret of s in the clear, for
// the delivery engine.
func (a *App) OpenStreamSecret(s *audit.Stream) ([]byte, error) {
	return a.keys.OpenStreamSecret(s.AccountID, s.ID, s.Secret)
}

// newStreamID returns a random stream ID: positive and below 2⁵³, so that
// every JSON reader holds it exactly, and unique in practice without
// asking the database (the key is (account_id, id)).
func newStreamID() int64 {
	var b [8]byte
	rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])>>11) | 1
}

// checkStreamName trims and checks a stream's name.
func checkStreamName(name string) (string, error) {
	name = strings.TrimSpace(name)
	return name, audit.ValidateText("name", name, audit.MaxStreamNameLen, true)
}

// checkStreamSecret checks the secret a caller gave for a stream of type t.
func checkStreamSecret(t, secret string) error {
	switch {
	case secret == "" && t == audit.StreamSplunk:
		return audit.FieldError("secret", "secret is required: the HTTP Event Collector token.")
	case secret == "" && t == audit.StreamDatadog:
		return audit.FieldError("secret", "secret is required: the Datadog API key.")
	case utf8.RuneCountInString(secret) > audit.MaxStreamSecretLen:
		return audit.FieldError("secret", "secret must be at most %d characters.", audit.MaxStreamSecretLen)
	case strings.ContainsFunc(secret, func(r rune) bool { return r < 0x21 || r > 0x7e }):
		return audit.FieldError("secret", "secret must be printable ASCII without spaces.")
	case t == audit.StreamWebhook && secret != "" && len(secret) < minWebhookSecretLen:
		return audit.FieldError("secret", "secret must be at least %d characters, or left out to have one generated.", minWebhookSecretLen)
	}
	return nil
}

// streamResource is a stream as the audit trail names it.
func streamResource(s *audit.Stream) resource {
	return resource{audit.ResourceStream, fmt.Sprint(s.ID)}
}

// host is the host a stream delivers to, as its events record it: never
// the whole URL, whose path or query may hold a token.
func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Host
}

// CreateStream creates a stream of p's account and records stream_created.
// The stream starts with the event that records its creation: its cursor
// is the log's size before it. It returns the stream and, when the caller
// gave no webhook secret, the generated one, which is shown now or never.
func (a *App) CreateStream(ctx context.Context, p *Principal, c Client, in NewStream) (*audit.Stream, string, error) {
	if err := p.Authorize(audit.PermManageStreams); err != nil {
		return nil, "", err
	}
	name, err := checkStreamName(in.Name)
	if err != nil {
		return nil, "", err
	}
	if err := audit.ValidateStreamType(in.Type); err != nil {
		return nil, "", err
	}
	if err := checkStreamSecret(in.Type, in.Secret); err != nil {
		return nil, "", err
	}
	if err := a.StreamPolicy().CheckURL(ctx, in.URL); err != nil {
		return nil, "", err
	}
	if err := stream.CheckFormatURL(in.Type, in.URL); err != nil {
		return nil, "", err
	}
	secret, generated := in.Secret, ""
	if secret == "" {
		b := make([]byte, 32)
		rand.Read(b)
		secret = webhookSecretType + base64.RawURLEncoding.EncodeToString(b)
		generated = secret
	}
	s := &audit.Stream{AccountID: p.AccountID, ID: newStreamID(), Name: name, Type: in.Type, URL: in.URL, State: audit.StreamActive}
	s.Secret = a.keys.SealStreamSecret(s.AccountID, s.ID, []byte(secret))
	if p.User != nil {
		s.CreatedBy = p.User.ID
	}
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if s.Cursor, err = tx.LogSize(ctx, p.AccountID); err != nil {
			return err
		}
		if err := tx.CreateStream(ctx, s); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{streamResource(s), audit.ActionStreamCreated,
			fmt.Sprintf("Created stream %q (%s to %s)", s.Name, s.Type, host(s.URL))})
	})
	if err != nil {
		return nil, "", err
	}
	return s, generated, nil
}

// Streams lists p's account's streams, oldest first.
func (a *App) Streams(ctx context.Context, p *Principal) ([]*audit.Stream, error) {
	if err := p.Authorize(audit.PermManageStreams); err != nil {
		return nil, err
	}
	return a.store.Streams(ctx, p.AccountID)
}

// Stream returns the stream id of p's account (ErrStreamNotFound for any
// other).
func (a *App) Stream(ctx context.Context, p *Principal, id int64) (*audit.Stream, error) {
	if err := p.Authorize(audit.PermManageStreams); err != nil {
		return nil, err
	}
	s, err := a.store.Stream(ctx, p.AccountID, id)
	return s, notFoundAs(err, ErrStreamNotFound)
}

// changeStream runs change on the stream id of p's account in a
// transaction, saves it and records what change says was done; a change
// that returns no entry changed nothing and records nothing.
func (a *App) changeStream(ctx context.Context, p *Principal, c Client, id int64, change func(s *audit.Stream, tx *sqlstore.Tx) (*entry, bool, error)) (*audit.Stream, error) {
	if err := p.Authorize(audit.PermManageStreams); err != nil {
		return nil, err
	}
	var s *audit.Stream
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if s, err = tx.StreamForUpdate(ctx, p.AccountID, id); err != nil {
			return err
		}
		en, endLease, err := change(s, tx)
		if err != nil || en == nil {
			return err
		}
		if en.action == audit.ActionStreamDeleted {
			if err := tx.DeleteStream(ctx, s.AccountID, s.ID); err != nil {
				return err
			}
		} else if err := tx.SaveStream(ctx, s, endLease); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, *en)
	})
	if errors.Is(err, audit.ErrNotFound) {
		return nil, ErrStreamNotFound
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// UpdateStream changes the name, URL or secret of the stream id of p's
// account and records stream_updated, naming what changed (never the
// secret's value). A new URL is checked as at creation; a new URL or
// secret ends the delivering process's lease, so the next delivery uses
// them.
func (a *App) UpdateStream(ctx context.Context, p *Principal, c Client, id int64, in StreamChange) (*audit.Stream, error) {
	if err := p.Authorize(audit.PermManageStreams); err != nil {
		return nil, err
	}
	if in.Name == nil && in.URL == nil && in.Secret == nil {
		return nil, audit.Errorf(audit.EINVALID, "Nothing to change: give name, url or secret.")
	}
	if in.Name != nil {
		name, err := checkStreamName(*in.Name)
		if err != nil {
			return nil, err
		}
		in.Name = &name
	}
	if in.URL != nil {
		if err := a.StreamPolicy().CheckURL(ctx, *in.URL); err != nil {
			return nil, err
		}
	}
	return a.changeStream(ctx, p, c, id, func(s *audit.Stream, _ *sqlstore.Tx) (*entry, bool, error) {
		var changed []string
		endLease := false
		if in.Name != nil && *in.Name != s.Name {
			changed = append(changed, fmt.Sprintf("name %q", *in.Name))
			s.Name = *in.Name
		}
		if in.URL != nil && *in.URL != s.URL {
			if err := stream.CheckFormatURL(s.Type, *in.URL); err != nil {
				return nil, false, err
			}
			changed = append(changed, "URL (to "+host(*in.URL)+")")
			s.URL, endLease = *in.URL, true
		}
		if in.Secret != nil {
			if *in.Secret == "" {
				return nil, false, audit.FieldError("secret", "secret must not be empty.")
			}
			if err := checkStreamSecret(s.Type, *in.Secret); err != nil {
				return nil, false, err
			}
			changed = append(changed, "secret")
			s.Secret, endLease = a.keys.SealStreamSecret(s.AccountID, s.ID, []byte(*in.Secret)), true
		}
		if len(changed) == 0 {
			return nil, false, nil
		}
		return &entry{streamResource(s), audit.ActionStreamUpdated,
			fmt.Sprintf("Updated stream %q: %s", s.Name, strings.Join(changed, ", "))}, endLease, nil
	})
}

// PauseStream stops delivering the stream id of p's account (at once: the
// delivering process's lease ends) and records stream_paused. Pausing a
// paused stream changes nothing and records nothing.
func (a *App) PauseStream(ctx context.Context, p *Principal, c Client, id int64) (*audit.Stream, error) {
	return a.changeStream(ctx, p, c, id, func(s *audit.Stream, _ *sqlstore.Tx) (*entry, bool, error) {
		if s.State == audit.StreamPaused {
			return nil, false, nil
		}
		s.State = audit.StreamPaused
		return &entry{streamResource(s), audit.ActionStreamPaused, fmt.Sprintf("Paused stream %q", s.Name)}, true, nil
	})
}

// ResumeStream makes a paused or dead stream of p's account active again,
// due at once from its cursor with its failures forgotten, and records
// stream_resumed. Resuming an active stream changes nothing.
func (a *App) ResumeStream(ctx context.Context, p *Principal, c Client, id int64) (*audit.Stream, error) {
	return a.changeStream(ctx, p, c, id, func(s *audit.Stream, tx *sqlstore.Tx) (*entry, bool, error) {
		if s.State == audit.StreamActive {
			return nil, false, nil
		}
		was := s.State
		s.State, s.Failures, s.NextAttemptAt = audit.StreamActive, 0, tx.Now()
		return &entry{streamResource(s), audit.ActionStreamResumed,
			fmt.Sprintf("Resumed stream %q (was %s) after seq %d", s.Name, was, s.Cursor)}, true, nil
	})
}

// DeleteStream deletes the stream id of p's account and records
// stream_deleted; its delivery stops at once.
func (a *App) DeleteStream(ctx context.Context, p *Principal, c Client, id int64) error {
	_, err := a.changeStream(ctx, p, c, id, func(s *audit.Stream, _ *sqlstore.Tx) (*entry, bool, error) {
		return &entry{streamResource(s), audit.ActionStreamDeleted,
			fmt.Sprintf("Deleted stream %q (%s to %s) after seq %d", s.Name, s.Type, host(s.URL), s.Cursor)}, true, nil
	})
	return err
}

// StreamTest is the outcome of a test delivery.
type StreamTest struct {
	OK    bool
	Error string // why it failed, in words fit for the caller
}

// TestStream sends a test delivery to the stream id of p's account, now,
// whatever its state, with the account's latest checkpoint encoded by
// encode (nil: none), and says whether the destination accepted it. It
// changes nothing and records nothing.
func (a *App) TestStream(ctx context.Context, p *Principal, id int64, encode func(*sqlstore.Checkpoint) ([]byte, error)) (*StreamTest, error) {
	s, err := a.Stream(ctx, p, id)
	if err != nil {
		return nil, err
	}
	secret, err := a.OpenStreamSecret(s)
	if err != nil {
		return nil, err
	}
	var cp []byte
	if encode != nil {
		c, err := a.store.Checkpoint(ctx, p.AccountID, 0)
		switch {
		case errors.Is(err, audit.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			if cp, err = encode(c); err != nil {
				return nil, err
			}
		}
	}
	if err := a.StreamPolicy().Test(ctx, s, secret, cp, a.StreamHost(), stream.DefaultTimeout); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return &StreamTest{Error: stream.Describe(err, stream.DefaultTimeout)}, nil
	}
	return &StreamTest{OK: true}, nil
}
