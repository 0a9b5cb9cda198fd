package audit

import "time"

// Session is a signed-in browser or client. Only a hash of its token is
// stored; the token itself lives in the client's cookie.
type Session struct {
	TokenHash  string // hex HMAC-SHA-256 of the cookie token
	UserID     int64
	AccountID  int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry; idle expiry is LastSeenAt + the idle timeout
	IPAddress  string
	UserAgent  string
}
