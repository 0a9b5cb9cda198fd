package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/auditlog/auditlog/internal/app"
)

// rateLimitHeaders returns an observer that shows the rate-limit decisions
// of a request in its response: the RateLimit-Policy and RateLimit headers
// (draft-ietf-httpapi-ratelimit-headers) list every bucket drawn from, in
// order, and a refusal sets Retry-After. The decisions are the app's (see
// package app, "Rate limits"); routes.go says which routes draw from which
// buckets.
func rateLimitHeaders(w http.ResponseWriter) app.LimitObserver {
	var policies, states []string
	return func(d app.LimitDecision) {
		policies = append(policies, fmt.Sprintf("%q;q=%d;w=%d", d.Policy, d.Rule.Limit, app.Seconds(d.Rule.Period)))
		states = append(states, fmt.Sprintf("%q;r=%d;t=%d", d.Policy, d.Remaining, app.Seconds(d.Reset)))
		w.Header().Set("RateLimit-Policy", strings.Join(policies, ", "))
		w.Header().Set("RateLimit", strings.Join(states, ", "))
		if !d.Allowed {
			setRetryAfter(w, d.RetryAfter)
		}
	}
}
