package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// platformKeyAgent names the operator's command in a platform key's
// created_by.
const platformKeyAgent = "auditlog platform-key create"

func runPlatformKey(ctx context.Context, e *env, args []string) error {
	const usage = "platform-key: want create, list or revoke (auditlog platform-key create --name NAME --scopes SCOPES)"
	if len(args) == 0 {
		return usageError{errors.New(usage)}
	}
	switch args[0] {
	case "create", "list", "revoke":
	default:
		return usageError{errors.New(usage)}
	}
	sub, rest := args[0], args[1:]
	var idArg string
	if sub == "revoke" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		idArg, rest = rest[0], rest[1:] // revoke ID [flags]
	}
	fs, st := newFlagSet(e, "platform-key "+sub, `Manage the platform's keys, against the database: create one (its secret is
printed once), list them, or revoke one by ID. A platform key creates
accounts, writes events to any account and mints viewer tokens, within its
scopes (docs/platform.md): `+strings.Join(audit.PlatformScopes, ", ")+`.`)
	name := fs.String("name", "", "create: the key's `name`, such as billing-service (required)")
	scopes := fs.String("scopes", "", "create: comma-separated `scopes` (required)")
	if err := st.parse(e, fs, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg := st.cfg
	log := newLogger(e, cfg.LogLevel)
	a, closeAll, err := operatorApp(ctx, cfg, log, secretKey(cfg, log))
	if err != nil {
		return err
	}
	defer closeAll()
	switch sub {
	case "create":
		var list []string
		for s := range strings.SplitSeq(*scopes, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		key, k, err := a.CreatePlatformKey(ctx, platformKeyAgent, *name, list)
		if err != nil {
			if f := audit.ErrorField(err); f != "" {
				return fmt.Errorf("platform-key create: --%s: %s", f, audit.ErrorMessage(err))
			}
			return fmt.Errorf("platform-key create: %w", err)
		}
		fmt.Fprintf(e.stdout, "created platform key %d %q (%s) with scopes %s\n", k.ID, k.Name, k.Prefix, strings.Join(k.Scopes, " "))
		fmt.Fprintf(e.stdout, "key (shown once; store it in the platform's secrets): %s\n", key)
	case "list":
		keys, err := a.PlatformKeys(ctx)
		if err != nil {
			return fmt.Errorf("platform-key list: %w", err)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, strings.Join(k.Scopes, ","),
				cliTime(k.CreatedAt), cliTime(k.LastUsedAt), cliTime(k.RevokedAt))
		}
		return tw.Flush()
	case "revoke":
		id, err := strconv.ParseInt(idArg, 10, 64)
		if err != nil {
			return usageError{fmt.Errorf("platform-key revoke: want the key's ID (auditlog platform-key revoke ID), not %q", idArg)}
		}
		k, err := a.RevokePlatformKey(ctx, id)
		if err != nil {
			if audit.ErrorCode(err) != audit.EINTERNAL {
				return fmt.Errorf("platform-key revoke: %s", audit.ErrorMessage(err))
			}
			return fmt.Errorf("platform-key revoke: %w", err)
		}
		fmt.Fprintf(e.stdout, "revoked platform key %d %q (%s) at %s\n", k.ID, k.Name, k.Prefix, cliTime(k.RevokedAt))
	}
	return nil
}

// cliTime renders t for a table: RFC 3339 in UTC to the second, "-" when
// zero.
func cliTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
