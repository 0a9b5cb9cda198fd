package app

import (
	"context"
	"strconv"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// resource is what a recorded action was done to.
type resource struct{ typ, id string }

func userResource(u *audit.User) resource {
	return resource{audit.ResourceUser, strconv.FormatInt(u.ID, 10)}
}

func accountResource(id int64) resource {
	return resource{audit.ResourceAccount, strconv.FormatInt(id, 10)}
}

func keyResource(k *audit.APIKey) resource {
	return resource{audit.ResourceAPIKey, strconv.FormatInt(k.ID, 10)}
}

var auditLogResource = resource{typ: audit.ResourceAuditLog}

// entry is one action to record: what was done, to what, in words.
type entry struct {
	on      resource
	action  string
	details string
}

// record appends one event per entry to the audit trail of by's account,
// in tx, in one append: by is the actor and c the origin of each. It is the
// only way the app records what its operations did (with recordData).
func (a *App) record(ctx context.Context, tx *sqlstore.Tx, by *Principal, c Client, entries ...entry) error {
	data := make([]dataEntry, len(entries))
	for i, en := range entries {
		data[i] = dataEntry{entry: en}
	}
	return a.recordData(ctx, tx, by, c, data...)
}

// dataEntry is an entry with data: a compact JSON object for its event's
// metadata, which searches and alert rules select on (metadata.role:admin).
type dataEntry struct {
	entry
	metadata []byte
}

// recordData is record for entries with data.
func (a *App) recordData(ctx context.Context, tx *sqlstore.Tx, by *Principal, c Client, entries ...dataEntry) error {
	_, err := a.recordDataEvents(ctx, tx, by, c, entries...)
	return err
}

// recordDataEvents is recordData that returns the stored events, in order
// (an erasure names itself by its event's seq).
func (a *App) recordDataEvents(ctx context.Context, tx *sqlstore.Tx, by *Principal, c Client, entries ...dataEntry) ([]*audit.Event, error) {
	events := make([]*audit.Event, len(entries))
	for i, en := range entries {
		e := &audit.Event{
			AccountID: by.AccountID, Action: en.action, ResourceType: en.on.typ, ResourceID: en.on.id,
			Details: en.details, IPAddress: c.ip, UserAgent: c.userAgent, Metadata: en.metadata,
		}
		by.setActor(e)
		events[i] = e
	}
	appended, err := tx.AppendEvents(ctx, a.signer, events...)
	if err != nil {
		return nil, err
	}
	out := make([]*audit.Event, len(appended))
	for i, ap := range appended {
		out[i] = ap.Event
	}
	return out, nil
}

// recordNow records entries in a transaction of their own.
func (a *App) recordNow(ctx context.Context, by *Principal, c Client, entries ...entry) error {
	return a.store.Update(ctx, func(tx *sqlstore.Tx) error { return a.record(ctx, tx, by, c, entries...) })
}
