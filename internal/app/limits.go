package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ratelimit"
)

// Rate-limit policies, by the names surfaces show (the JSON API's
// RateLimit-Policy header). Sign-in attempts draw from the client IP's
// bucket and from the bucket of the account signed in to, so neither one
// address nor a botnet guessing one account gets far; reads draw from the
// session's bucket; ingest draws from the API key's bucket; public
// sign-up draws from the client IP's sign-up bucket.
const (
	PolicyLoginIP      = "login-ip"
	PolicyLoginAccount = "login-account"
	PolicyReads        = "reads"
	PolicyIngest       = "ingest"
	PolicySignUpIP     = "signup-ip"
)

// throttleAuditRule bounds how often a throttled sign-in for one account is
// recorded as login_failed: a flood of refused attempts must not flood the
// account's audit log.
var throttleAuditRule = ratelimit.Rule{Limit: 1, Period: 10 * time.Minute}

// limit is one token bucket a request draws from.
type limit struct {
	policy string
	rule   ratelimit.Rule
	key    string
}

// LimitDecision is the outcome of drawing from one bucket.
type LimitDecision struct {
	Policy string         // the policy's name, such as "login-ip"
	Rule   ratelimit.Rule // its bucket size and period
	ratelimit.Decision
}

// A LimitObserver is told every decision of the operations run with a
// context from WithLimitObserver, in order, allowed or not.
type LimitObserver func(LimitDecision)

type observerKey struct{}

// WithLimitObserver returns ctx carrying obs. Operations report each
// rate-limit decision they make to it, so that a surface can show the
// state of the buckets (the JSON API's RateLimit headers).
func WithLimitObserver(ctx context.Context, obs LimitObserver) context.Context {
	return context.WithValue(ctx, observerKey{}, obs)
}

// RateLimitError is the error of an attempt refused because a bucket was
// empty. Its code is audit.ERATELIMITED.
type RateLimitError struct {
	Policy     string
	RetryAfter time.Duration // until a token is back
	err        *audit.Error
}

func newRateLimitError(policy string, retry time.Duration) *RateLimitError {
	return &RateLimitError{Policy: policy, RetryAfter: retry, err: &audit.Error{
		Code: audit.ERATELIMITED, Message: fmt.Sprintf("Too many requests: try again in %d seconds.", Seconds(retry)),
	}}
}

// Error implements the error interface.
func (e *RateLimitError) Error() string { return e.err.Error() }

// Unwrap returns the *audit.Error that carries the code and message.
func (e *RateLimitError) Unwrap() error { return e.err }

// Seconds rounds a duration up to whole seconds, at least 1 for a positive
// one: how rate-limit waits are shown.
func Seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}

// ipLimit is the login bucket of the client's IP address.
func (a *App) ipLimit(c Client) limit {
	return limit{PolicyLoginIP, a.cfg.RateLimitLoginIP, "login:ip:" + c.ip}
}

// signUpLimit is the public sign-up bucket of the client's IP address.
func (a *App) signUpLimit(c Client) limit {
	return limit{PolicySignUpIP, a.cfg.RateLimitSignUp, "signup:ip:" + c.ip}
}

// accountLimit is the login bucket of the account signed in to as email.
func (a *App) accountLimit(email string) limit {
	return limit{PolicyLoginAccount, a.cfg.RateLimitLoginAccount, a.keys.BucketKey("login:account", audit.NormalizeEmail(email))}
}

// LimitReads takes a token from the read bucket of p's session; requests
// made with an API key are not limited here. It fails with a
// *RateLimitError when the bucket is empty.
func (a *App) LimitReads(ctx context.Context, p *Principal) error {
	if p == nil || p.Session == nil {
		return nil
	}
	return a.draw(ctx, limit{PolicyReads, a.cfg.RateLimitReads, a.keys.BucketKey("reads:session", p.Session.TokenHash)})
}

// LimitIngest takes a token from the ingest bucket of p's API key. Its
// default (RATE_LIMIT_INGEST, 20,000 requests per 10 s) stops a runaway
// client well above what one service needs; batches carry up to 1,000
// events a request. Requests by a signed-in owner or admin are not limited
// here. A platform key has a bucket of its own, shared by every account
// it writes to.
func (a *App) LimitIngest(ctx context.Context, p *Principal) error {
	if p != nil && p.Platform != nil {
		return a.draw(ctx, limit{PolicyIngest, a.cfg.RateLimitIngest, "ingest:platform:" + strconv.FormatInt(p.Platform.ID, 10)})
	}
	if p == nil || p.APIKey == nil {
		return nil
	}
	return a.draw(ctx, limit{PolicyIngest, a.cfg.RateLimitIngest, "ingest:key:" + strconv.FormatInt(p.APIKey.ID, 10)})
}

// limitSignIn draws an attempt to sign in as email from limits. A
// throttled attempt on a known user's account is recorded as login_failed,
// at most once per throttleAuditRule period per account, so the owner sees
// the attack in the audit log without the attacker filling it.
func (a *App) limitSignIn(ctx context.Context, c Client, email string, limits ...limit) error {
	err := a.draw(ctx, limits...)
	var rl *RateLimitError
	if errors.As(err, &rl) {
		a.auditThrottled(ctx, c, email)
	}
	return err
}

// limitOwnAttempt draws a signed-in user's check of their own password or
// MFA code from their account's login bucket, so codes and passwords cannot
// be guessed faster through these operations than through sign-in.
func (a *App) limitOwnAttempt(ctx context.Context, u *audit.User) error {
	return a.draw(ctx, a.accountLimit(u.Email))
}

// draw takes a token from each bucket in turn, reports each decision to
// the context's observer and to Deps.OnLimit, and fails with a *RateLimitError at the first
// empty bucket, leaving the later buckets untouched. Off rules are skipped.
func (a *App) draw(ctx context.Context, limits ...limit) error {
	obs, _ := ctx.Value(observerKey{}).(LimitObserver)
	for _, l := range limits {
		if l.rule.Off() {
			continue
		}
		d, err := a.allow(ctx, l)
		if err != nil {
			return err
		}
		ld := LimitDecision{Policy: l.policy, Rule: l.rule, Decision: d}
		if obs != nil {
			obs(ld)
		}
		if a.onLimit != nil {
			a.onLimit(ld)
		}
		if !d.Allowed {
			return newRateLimitError(l.policy, d.RetryAfter)
		}
	}
	return nil
}

// allow takes a token from l's bucket. When the shared limiter (Redis)
// fails, the bucket is taken from this process's own limiter instead, and
// the failure is logged: the limit then holds per process rather than not
// at all.
func (a *App) allow(ctx context.Context, l limit) (ratelimit.Decision, error) {
	d, err := a.limiter.Allow(ctx, l.key, l.rule)
	if err == nil || a.limiter == a.localLimiter {
		return d, err
	}
	if ctx.Err() != nil {
		return d, ctx.Err()
	}
	a.log.WarnContext(ctx, "shared rate limiter failed; limiting in this process", "policy", l.policy, "err", err)
	return a.localLimiter.Allow(ctx, l.key, l.rule)
}

// auditThrottled records a throttled sign-in for email's account, unless one
// was recorded within throttleAuditRule's period or no user has that email.
// The event is written in the background, so a known email's refusal takes
// as long as an unknown one's.
func (a *App) auditThrottled(ctx context.Context, c Client, email string) {
	d, err := a.allow(ctx, limit{"login-throttle-audit", throttleAuditRule, a.keys.BucketKey("login:throttle-audit", email)})
	if err != nil || !d.Allowed {
		return
	}
	user, err := a.store.UserByEmail(ctx, email)
	if err != nil {
		return
	}
	err = a.recordLater(ctx, userPrincipal(user), c, entry{userResource(user), audit.ActionLoginFailed,
		"Failed login attempt: too many attempts, sign-in throttled (throttled attempts are recorded at most once every 10 minutes)"})
	if err != nil {
		a.log.WarnContext(ctx, "could not record a throttled login", "err", err)
	}
}
