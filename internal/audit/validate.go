package audit

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field length limits, in characters unless noted.
const (
	MaxEmailLen       = 254  // RFC 5321 path limit
	MaxNameLen        = 100  // first_name, last_name
	MaxAccountNameLen = 200  // account name
	MaxDomainLen      = 253  // RFC 1035 name limit
	MinPasswordLen    = 8    // NIST SP 800-63B minimum
	MaxPasswordBytes  = 1024 // long enough for any passphrase, short enough to hash cheaply
	MaxFilterLen      = 100  // action and resource_type filter values
)

// NormalizeEmail trims spaces and lower-cases an email address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail checks that s (already normalized) is a plain address such as
// user@example.com, without a display name.
func ValidateEmail(field, s string) error {
	switch {
	case s == "":
		return FieldError(field, "%s is required.", field)
	case utf8.RuneCountInString(s) > MaxEmailLen:
		return FieldError(field, "%s must be at most %d characters.", field, MaxEmailLen)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return FieldError(field, "%s must be an email address such as user@example.com.", field)
	}
	return nil
}

// ValidatePassword checks the length rules for a new password. Passwords are
// compared byte for byte: no trimming, no composition rules.
func ValidatePassword(field, s string) error {
	switch {
	case s == "":
		return FieldError(field, "%s is required.", field)
	case !utf8.ValidString(s):
		return FieldError(field, "%s must be valid UTF-8 text.", field)
	case utf8.RuneCountInString(s) < MinPasswordLen:
		return FieldError(field, "%s must be at least %d characters.", field, MinPasswordLen)
	case len(s) > MaxPasswordBytes:
		return FieldError(field, "%s must be at most %d bytes.", field, MaxPasswordBytes)
	}
	return nil
}

// ValidateText checks an optional or required single-line text field: valid
// UTF-8, no control characters, at most max characters.
func ValidateText(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return FieldError(field, "%s is required.", field)
	case !utf8.ValidString(s):
		return FieldError(field, "%s must be valid UTF-8 text.", field)
	case utf8.RuneCountInString(s) > max:
		return FieldError(field, "%s must be at most %d characters.", field, max)
	case strings.ContainsFunc(s, unicode.IsControl):
		return FieldError(field, "%s must not contain control characters.", field)
	}
	return nil
}

// NormalizeDomain trims spaces, lower-cases and drops one trailing dot.
func NormalizeDomain(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// ValidateDomain checks that s (already normalized) is a DNS name of at least
// two labels, such as my-store.com.
func ValidateDomain(field, s string) error {
	if s == "" {
		return FieldError(field, "%s is required.", field)
	}
	if len(s) > MaxDomainLen {
		return FieldError(field, "%s must be at most %d characters.", field, MaxDomainLen)
	}
	labels := strings.Split(s, ".")
	bad := len(labels) < 2
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			bad = true
			break
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				bad = true
				break
			}
		}
	}
	if bad {
		return FieldError(field, "%s must be a domain name such as my-store.com.", field)
	}
	return nil
}
