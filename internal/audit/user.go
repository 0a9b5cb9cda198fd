package audit

import (
	"strings"
	"time"
)

// User is a person who signs in to one account with one role.
type User struct {
	ID           int64
	AccountID    int64
	Email        string // unique across the service, normalized to lower case
	PasswordHash string // never serialized to clients or logs
	FirstName    string
	LastName     string
	Role         Role
	IsActive     bool
	CreatedAt    time.Time
}

// Normalize trims the names, and trims and lower-cases the email address.
func (u *User) Normalize() {
	u.Email = NormalizeEmail(u.Email)
	u.FirstName = strings.TrimSpace(u.FirstName)
	u.LastName = strings.TrimSpace(u.LastName)
}

// Validate checks a new user's fields (not the password, which is validated
// before hashing). prefix is prepended to field names in errors, so that the
// account-creation request can report "owner_email" rather than "email".
func (u *User) Validate(prefix string) error {
	if err := ValidateEmail(prefix+"email", u.Email); err != nil {
		return err
	}
	if err := ValidateText(prefix+"first_name", u.FirstName, MaxNameLen, false); err != nil {
		return err
	}
	if err := ValidateText(prefix+"last_name", u.LastName, MaxNameLen, false); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return FieldError("role", "role must be one of owner, admin, analyst, content_creator.")
	}
	return nil
}

// FullName returns the first and last name joined by a space.
func (u *User) FullName() string {
	switch {
	case u.FirstName == "":
		return u.LastName
	case u.LastName == "":
		return u.FirstName
	}
	return u.FirstName + " " + u.LastName
}
