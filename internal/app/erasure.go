package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// ErasureRequest names whose personal data to erase: exactly one of
// UserID (a user of the account), ActorID (an external actor's ID, as
// events recorded it) and Email (a person's email, as events recorded it
// or as a user of the account holds it).
type ErasureRequest struct {
	UserID  int64
	ActorID string
	Email   string
	// AnonymizeUser also anonymises the user record (UserID, or the user
	// of the account whose email is Email): see Erase.
	AnonymizeUser bool
}

// checkErasureInput checks what an erasure request says, before anything
// is read, and normalises its email.
func checkErasureInput(in *ErasureRequest) error {
	in.Email = audit.NormalizeEmail(in.Email)
	given := 0
	for _, set := range []bool{in.UserID != 0, in.ActorID != "", in.Email != ""} {
		if set {
			given++
		}
	}
	switch {
	case given != 1:
		return audit.Errorf(audit.EINVALID, "Send exactly one of user_id, actor_id and email: whose personal data to erase.")
	case in.UserID < 0:
		return audit.FieldError("user_id", "user_id must be a user's ID, a positive integer.")
	case in.ActorID != "" && (strings.TrimSpace(in.ActorID) == "" || len(in.ActorID) > maxActorIDLen):
		return audit.FieldError("actor_id", "actor_id must be an external actor's ID, at most %d bytes.", maxActorIDLen)
	case in.ActorID != "" && in.AnonymizeUser:
		return audit.FieldError("anonymize_user", "anonymize_user needs a user: send user_id, or the email of a user of the account.")
	}
	if in.Email != "" {
		return audit.ValidateEmail("email", in.Email)
	}
	return nil
}

// errAnonymizeNoUser refuses anonymize_user for an email no user of the
// account has.
var errAnonymizeNoUser = audit.FieldError("anonymize_user", "anonymize_user needs a user: no user of the account has this email.")

// errLastOwner refuses to anonymise the account's last active owner.
var errLastOwner = &audit.Error{Code: audit.ECONFLICT, Field: "anonymize_user", Message: "The account must keep at least one active owner: make another user owner first."}

// CheckErasure checks an erasure request as Erase would, without erasing
// or writing anything: what it says, that its user is one of p's account
// (ErrUserNotFound otherwise), that anonymize_user names a user, and that
// anonymising would not leave the account without an active owner. A
// surface that asks for a confirmation calls it before asking, so that a
// request Erase would refuse is refused then, not after the confirmation.
// Erase checks again, in its transaction.
func (a *App) CheckErasure(ctx context.Context, p *Principal, in ErasureRequest) error {
	if err := p.Authorize(audit.PermErasePersonalData); err != nil {
		return err
	}
	if err := checkErasureInput(&in); err != nil {
		return err
	}
	var user *audit.User
	switch {
	case in.UserID != 0:
		u, err := a.store.User(ctx, p.AccountID, in.UserID)
		if audit.ErrorCode(err) == audit.ENOTFOUND {
			return ErrUserNotFound
		} else if err != nil {
			return err
		}
		user = u
	case in.Email != "":
		u, err := a.store.UserByEmail(ctx, in.Email)
		switch {
		case err == nil && u.AccountID == p.AccountID:
			user = u
		case err != nil && audit.ErrorCode(err) != audit.ENOTFOUND:
			return err
		case in.AnonymizeUser:
			return errAnonymizeNoUser
		}
	}
	if !in.AnonymizeUser || user.Role != audit.RoleOwner || !user.IsActive {
		return nil
	}
	users, err := a.store.Users(ctx, p.AccountID)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.ID != user.ID && u.Role == audit.RoleOwner && u.IsActive {
			return nil
		}
	}
	return errLastOwner
}

// maxErasuresListed bounds GET /api/erasures: erasures are rare.
const maxErasuresListed = 1000

// maxActorIDLen is the longest actor ID an event holds (events.actor_id).
const maxActorIDLen = 255

// Erase erases the personal data of one person across p's account's
// events, and records the erasure (owners and operators only).
//
// The subject's events are those the user acted in or that are about the
// user (resource user/ID), those the external actor acted in, and those
// whose actor email is one of the subject's emails or whose details,
// metadata or changes contain one: the email given, or for a user or an
// actor the user's email and every actor email their events recorded. Of
// each such event not yet erased, every personal field (actor ID, email
// and name, IP address, user agent, details, metadata, changes) and the
// salt are removed, in one transaction; the leaf, its proofs and the
// checkpoints stay valid. The event leaves the search index and the
// analytics counts per actor and address; the subject's emails are
// replaced by a marker in the account's chat turns. With AnonymizeUser the
// user record gets an address that names no one, no names, no usable
// password, and is deactivated; its sessions, pending MFA sign-ins, MFA
// enrolment, chat conversations and API keys end with it. The account
// keeps at least one active owner (409).
//
// The erasure is recorded in the same transaction as the event
// personal_data_erased, whose details and metadata say how many events
// and which fields were erased and name the subject only by its opaque
// reference (audit.Erasure.SubjectRef), and as a row that Erasures lists.
// Erasing again is harmless: it finds nothing left to erase and records
// an erasure of 0 events.
func (a *App) Erase(ctx context.Context, p *Principal, c Client, in ErasureRequest) (*audit.Erasure, error) {
	if err := p.Authorize(audit.PermErasePersonalData); err != nil {
		return nil, err
	}
	if err := checkErasureInput(&in); err != nil {
		return nil, err
	}
	var out *audit.Erasure
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		rec := &audit.Erasure{AccountID: p.AccountID, CreatedAt: tx.Now(), UserAnonymized: in.AnonymizeUser}
		if p.User != nil {
			rec.RequestedBy = p.User.ID
		}
		var subject sqlstore.ErasureSubject
		userID := in.UserID
		switch {
		case in.UserID != 0:
			rec.SubjectType, rec.SubjectRef = audit.SubjectUser, "user:"+strconv.FormatInt(in.UserID, 10)
		case in.ActorID != "":
			rec.SubjectType, rec.SubjectRef = audit.SubjectActor, a.keys.ErasureRef(p.AccountID, audit.SubjectActor, in.ActorID)
			subject.ActorID = in.ActorID
		default:
			rec.SubjectType, rec.SubjectRef = audit.SubjectEmail, a.keys.ErasureRef(p.AccountID, audit.SubjectEmail, in.Email)
			subject.Emails = []string{in.Email}
			u, err := a.store.UserByEmail(ctx, in.Email)
			switch {
			case err == nil && u.AccountID == p.AccountID:
				userID = u.ID
			case err != nil && audit.ErrorCode(err) != audit.ENOTFOUND:
				return err
			case in.AnonymizeUser:
				return errAnonymizeNoUser
			}
		}
		// Locks in the order UpdateUser takes them (owners, the user, then
		// the log head as it records), so the two queue, never deadlock.
		var owners []int64
		if in.AnonymizeUser {
			var err error
			if owners, err = tx.ActiveOwners(ctx, p.AccountID); err != nil {
				return err
			}
		}
		var user *audit.User
		if userID != 0 {
			u, err := tx.UserForUpdate(ctx, p.AccountID, userID)
			if audit.ErrorCode(err) == audit.ENOTFOUND {
				return ErrUserNotFound
			} else if err != nil {
				return err
			}
			user, subject.UserID = u, u.ID
			subject.Emails = append(subject.Emails, u.Email)
		}
		if in.AnonymizeUser && user.Role == audit.RoleOwner && user.IsActive && len(owners) == 1 && owners[0] == user.ID {
			return errLastOwner
		}
		if err := tx.LockLog(ctx, p.AccountID); err != nil {
			return err
		}
		if subject.UserID != 0 || subject.ActorID != "" {
			more, err := tx.ActorEmails(ctx, p.AccountID, subject.UserID, subject.ActorID)
			if err != nil {
				return err
			}
			subject.Emails = append(subject.Emails, more...)
		}
		slices.Sort(subject.Emails)
		subject.Emails = slices.Compact(subject.Emails)
		erased, err := tx.ErasePersonalData(ctx, p.AccountID, subject)
		if err != nil {
			return err
		}
		rec.Events, rec.Fields = erased.Events, erased.Fields
		if rec.ChatTurns, err = tx.RedactChat(ctx, p.AccountID, subject.Emails); err != nil {
			return err
		}
		details := fmt.Sprintf("Erased the personal data of %d event(s) of %s", rec.Events, rec.SubjectRef)
		if in.AnonymizeUser {
			ended, err := a.anonymize(ctx, tx, user)
			if err != nil {
				return err
			}
			details += "; user anonymised, " + ended
		}
		meta, err := json.Marshal(map[string]any{
			"subject_type": rec.SubjectType, "subject_ref": rec.SubjectRef, "events": rec.Events, "fields": rec.Fields,
			"chat_turns": rec.ChatTurns, "user_anonymized": rec.UserAnonymized,
		})
		if err != nil {
			return fmt.Errorf("app: encode erasure: %w", err)
		}
		events, err := a.recordDataEvents(ctx, tx, p, c, dataEntry{entry{resource{typ: audit.ResourcePersonalData}, audit.ActionPersonalDataErased, details}, meta})
		if err != nil {
			return err
		}
		rec.Seq = events[0].Seq
		if err := tx.InsertErasure(ctx, rec); err != nil {
			return err
		}
		out = rec
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// anonymize replaces the user's identity by an address that names no one
// at the same domain (so the account's users stay at its domain), with no
// names and no usable password, deactivates the user, and ends everything
// they could act with or had kept: sessions, pending MFA sign-ins, MFA
// enrolment, chat conversations and the API keys they created. It returns
// what it ended, in words.
func (a *App) anonymize(ctx context.Context, tx *sqlstore.Tx, u *audit.User) (string, error) {
	domain := u.Email[strings.LastIndexByte(u.Email, '@')+1:]
	if err := tx.AnonymizeUser(ctx, u.AccountID, u.ID, fmt.Sprintf("erased-user-%d@%s", u.ID, domain)); err != nil {
		return "", err
	}
	sessions, err := tx.DeleteUserSessions(ctx, u.AccountID, u.ID)
	if err != nil {
		return "", err
	}
	keys, err := tx.RevokeUserAPIKeys(ctx, u.AccountID, u.ID)
	if err != nil {
		return "", err
	}
	if err := tx.DeleteMFA(ctx, u.AccountID, u.ID); err != nil {
		return "", err
	}
	chats, err := tx.DeleteUserChats(ctx, u.AccountID, u.ID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d session(s) ended, %d API key(s) revoked, %d chat conversation(s) deleted", sessions, keys, chats), nil
}

// Erasures lists the erasures of p's account, newest first (owners and
// operators only).
func (a *App) Erasures(ctx context.Context, p *Principal) ([]*audit.Erasure, error) {
	if err := p.Authorize(audit.PermErasePersonalData); err != nil {
		return nil, err
	}
	return a.store.Erasures(ctx, p.AccountID, maxErasuresListed)
}
