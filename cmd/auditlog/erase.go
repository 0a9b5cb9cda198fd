package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// eraseOperator is how an erasure from the command line is recorded: the
// actor is of type system, named by this and the operating-system user.
const eraseOperator = "auditlog erase"

func runErase(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "erase", `Erase the personal data of one person from an account's events, as
POST /api/erasures does, from the operator's side (docs/privacy.md):

  auditlog erase --account ID --user N [--anonymize-user]
  auditlog erase --account ID --actor ACTOR_ID
  auditlog erase --account ID --email EMAIL [--anonymize-user]

The events keep their leaves, so every proof and verification still pass.
The erasure is recorded in the account's log with a system actor named
"auditlog erase" and the operating-system user, and listed by
GET /api/erasures. SECRET_KEY must be the service's, so that the erasure's
subject reference is the one the API would compute.`)
	accountID := fs.Int64("account", 0, "the account's `ID` (required)")
	userID := fs.Int64("user", 0, "erase the personal data of the user with this `ID`")
	actorID := fs.String("actor", "", "erase the personal data of the external actor with this `ID`")
	email := fs.String("email", "", "erase the personal data recorded under or mentioning this `email`")
	anonymize := fs.Bool("anonymize-user", false, "also anonymise the user record (with --user, or --email of a user)")
	if err := st.parse(e, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *accountID <= 0 {
		fs.Usage()
		return usageError{errors.New("erase needs --account ID")}
	}
	cfg := st.cfg
	log := newLogger(e, cfg.LogLevel)
	a, closeAll, err := operatorApp(ctx, cfg, log, secretKey(cfg, log))
	if err != nil {
		return err
	}
	defer closeAll()
	name := eraseOperator
	if u, ok := e.lookupEnv("USER"); ok && u != "" {
		name += " by " + u
	}
	rec, err := a.Erase(ctx, app.OperatorPrincipal(*accountID, name), app.NewClient("", eraseOperator), app.ErasureRequest{
		UserID: *userID, ActorID: *actorID, Email: *email, AnonymizeUser: *anonymize,
	})
	if err != nil {
		return eraseError(err)
	}
	fields := make([]string, 0, len(rec.Fields))
	for f, n := range rec.Fields {
		fields = append(fields, fmt.Sprintf("%s %d", f, n))
	}
	slices.Sort(fields)
	fmt.Fprintf(e.stdout, "erasure %d of account %d: personal data of %d event(s) of %s erased", rec.Seq, rec.AccountID, rec.Events, rec.SubjectRef)
	if len(fields) > 0 {
		fmt.Fprintf(e.stdout, " (%s)", strings.Join(fields, ", "))
	}
	fmt.Fprintf(e.stdout, "; %d chat turn(s) redacted", rec.ChatTurns)
	if rec.UserAnonymized {
		fmt.Fprint(e.stdout, "; user anonymised")
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// eraseFlag names, for each input of app.Erase, its flag.
var eraseFlag = map[string]string{"user_id": "--user", "actor_id": "--actor", "email": "--email", "anonymize_user": "--anonymize-user"}

// eraseError says what was wrong with the erasure, naming the flag at
// fault; internal errors keep their chain.
func eraseError(err error) error {
	if c := audit.ErrorCode(err); c == audit.EINTERNAL || c == audit.EUNAVAILABLE {
		return fmt.Errorf("erase: %w", err)
	}
	msg := strings.ReplaceAll(audit.ErrorMessage(err), "user_id, actor_id and email", "--user, --actor and --email")
	if f, ok := eraseFlag[audit.ErrorField(err)]; ok {
		return fmt.Errorf("erase: %s: %s", f, msg)
	}
	return fmt.Errorf("erase: %s", msg)
}
