package password

import (
	_ "embed"
	"strings"
	"sync"

	"github.com/auditlog/auditlog/internal/audit"
)

// breachedList is the shipped list of common breached passwords, one per
// line, lower case (breached/README.md says where it comes from).
//
//go:embed breached/passwords.txt
var breachedList string

var (
	breachedOnce sync.Once
	breachedSet  map[string]struct{}
)

// Breached reports whether pw, compared without regard to case, is on the
// shipped list of common breached passwords.
func Breached(pw string) bool {
	breachedOnce.Do(func() {
		lines := strings.Split(strings.TrimSpace(breachedList), "\n")
		breachedSet = make(map[string]struct{}, len(lines))
		for _, l := range lines {
			breachedSet[l] = struct{}{}
		}
	})
	_, ok := breachedSet[strings.ToLower(pw)]
	return ok
}

// BreachedCount returns the number of passwords on the shipped list.
func BreachedCount() int {
	Breached("")
	return len(breachedSet)
}

// Policy is the rule set for new passwords (NIST SP 800-63B section
// 3.1.1.2): at least audit.MinPasswordLen characters, up to
// audit.MaxPasswordBytes, no composition rules, and, unless CheckBreached is
// off, not on the list of common breached passwords.
type Policy struct {
	CheckBreached bool
}

// Check validates a new password sent in the request field field.
func (p Policy) Check(field, pw string) error {
	if err := audit.ValidatePassword(field, pw); err != nil {
		return err
	}
	if p.CheckBreached && Breached(pw) {
		return audit.FieldError(field, "%s is one of the most common passwords found in data breaches, so attackers try it first: choose another.", field)
	}
	return nil
}
