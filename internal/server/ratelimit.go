package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// A limit is one token bucket a request draws from: the policy's name (as
// the RateLimit headers show it), its rule, and the key of the bucket.
type limit struct {
	policy string
	rule   ratelimit.Rule
	key    string
}

// Rate-limit policies. Login attempts (the password step, the MFA step, and
// password or MFA changes that check a password or code) draw from the
// client IP's bucket and from the bucket of the account signed in to, so
// neither one address nor a botnet guessing one account gets far; reads
// draw from the session's bucket; ingest draws from the API key's bucket.
const (
	policyLoginIP      = "login-ip"
	policyLoginAccount = "login-account"
	policyReads        = "reads"
	policyIngest       = "ingest"
)

// throttleAuditRule bounds how often a throttled login for one account is
// recorded as login_failed: a flood of refused attempts must not flood the
// account's audit log.
var throttleAuditRule = ratelimit.Rule{Limit: 1, Period: 10 * time.Minute}

// limitKey returns a bucket key for a secret-ish value such as an email or
// a session token hash: keyed with the secret key, so that a shared Redis
// holds no email addresses.
func (s *Server) limitKey(kind, value string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(kind + "\x00" + value))
	return kind + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

// loginLimits returns the buckets a login attempt for email draws from.
func (s *Server) loginLimits(r *http.Request, email string) []limit {
	return []limit{s.ipLimit(r), s.accountLimit(email)}
}

// ipLimit is the login bucket of the client's IP address.
func (s *Server) ipLimit(r *http.Request) limit {
	return limit{policyLoginIP, s.cfg.RateLimitLoginIP, "login:ip:" + s.clientIP(r)}
}

// accountLimit is the login bucket of the account signed in to as email.
func (s *Server) accountLimit(email string) limit {
	return limit{policyLoginAccount, s.cfg.RateLimitLoginAccount, s.limitKey("login:account", audit.NormalizeEmail(email))}
}

// readLimit is the bucket a signed-in read draws from.
func (s *Server) readLimit(sess *audit.Session) limit {
	return limit{policyReads, s.cfg.RateLimitReads, s.limitKey("reads:session", sess.TokenHash)}
}

// ingestLimit is the bucket an ingest request made with the API key keyID
// draws from. The ingest handler calls
//
//	if err := s.rateLimit(w, r, s.ingestLimit(keyID)); err != nil { return err }
//
// before it decodes the body.
func (s *Server) ingestLimit(keyID int64) limit {
	return limit{policyIngest, s.cfg.RateLimitIngest, "ingest:key:" + strconv.FormatInt(keyID, 10)}
}

// rateLimit takes a token from each bucket in turn, sets the RateLimit and
// RateLimit-Policy headers (draft-ietf-httpapi-ratelimit-headers) for the
// buckets it drew from, and returns a rate_limited error with Retry-After at
// the first empty bucket, leaving the later buckets untouched. Off rules are
// skipped. When the shared limiter (Redis) fails, the bucket is taken from
// this process's own limiter instead, and the failure is logged: the limit
// then holds per process rather than not at all.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, limits ...limit) error {
	var policies, states []string
	defer func() {
		if len(policies) > 0 {
			w.Header().Set("RateLimit-Policy", strings.Join(policies, ", "))
			w.Header().Set("RateLimit", strings.Join(states, ", "))
		}
	}()
	for _, l := range limits {
		if l.rule.Off() {
			continue
		}
		d, err := s.allow(r.Context(), l)
		if err != nil {
			return err
		}
		policies = append(policies, fmt.Sprintf("%q;q=%d;w=%d", l.policy, l.rule.Limit, seconds(l.rule.Period)))
		states = append(states, fmt.Sprintf("%q;r=%d;t=%d", l.policy, d.Remaining, seconds(d.Reset)))
		if !d.Allowed {
			retry := seconds(d.RetryAfter)
			w.Header().Set("Retry-After", strconv.FormatInt(retry, 10))
			return &audit.Error{Code: audit.ERATELIMITED, Message: fmt.Sprintf("Too many requests: try again in %d seconds.", retry)}
		}
	}
	return nil
}

func (s *Server) allow(ctx context.Context, l limit) (ratelimit.Decision, error) {
	d, err := s.limiter.Allow(ctx, l.key, l.rule)
	if err == nil || s.limiter == s.localLimiter {
		return d, err
	}
	if ctx.Err() != nil {
		return d, ctx.Err()
	}
	s.log.WarnContext(ctx, "shared rate limiter failed; limiting in this process", "policy", l.policy, "err", err)
	return s.localLimiter.Allow(ctx, l.key, l.rule)
}

// seconds rounds a duration up to whole seconds, at least 1 for a positive one.
func seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}

// limitLogin applies the login buckets to an attempt to sign in as email.
// A throttled attempt on a known user's account is recorded as login_failed,
// at most once per throttleAuditRule period per account, so the owner sees
// the attack in the audit log without the attacker filling it.
func (s *Server) limitLogin(w http.ResponseWriter, r *http.Request, email string) error {
	err := s.rateLimit(w, r, s.loginLimits(r, email)...)
	if audit.ErrorCode(err) == audit.ERATELIMITED {
		s.auditThrottled(r, email)
	}
	return err
}

// auditThrottled records a throttled login for email's account, unless one
// was recorded within throttleAuditRule's period or no user has that email.
func (s *Server) auditThrottled(r *http.Request, email string) {
	ctx := r.Context()
	d, err := s.allow(ctx, limit{"login-throttle-audit", throttleAuditRule, s.limitKey("login:throttle-audit", email)})
	if err != nil || !d.Allowed {
		return
	}
	user, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return
	}
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		return s.appendEvents(ctx, tx, s.userEvent(r, user, user, audit.ActionLoginFailed,
			"Failed login attempt: too many attempts, sign-in throttled (throttled attempts are recorded at most once every 10 minutes)"))
	})
	if err != nil {
		s.log.WarnContext(ctx, "could not record a throttled login", "err", err)
	}
}

// userEvent returns an event about target, acted by actor, from request r.
func (s *Server) userEvent(r *http.Request, actor, target *audit.User, action, details string) *audit.Event {
	e := &audit.Event{
		AccountID: target.AccountID, Action: action,
		ResourceType: audit.ResourceUser, ResourceID: strconv.FormatInt(target.ID, 10),
		Details: details, IPAddress: s.clientIP(r), UserAgent: r.UserAgent(),
	}
	e.SetUserActor(actor)
	return e
}
