// Package generate fills a database with realistic ecommerce audit events,
// for demonstrations, benchmarks and capacity tests.
//
// Run creates accounts (one large shop and many small ones, each with an
// owner and staff) or adds to an existing account, and writes events drawn
// from a catalogue of what a shop's log holds: orders, payments,
// fulfilment, refunds, inventory, products and prices, customers, staff
// sign-ins, and the rare sensitive changes (payout destinations, staff
// roles, settings). Each event is built as a platform would send it to
// POST /api/audit-logs/batch, checked by the API's own validation, and
// appended through the store's one write path, so the accounts' verifiable
// logs (leaf hashes, tree tiles, signed checkpoints) are real and verify.
//
// Everything drawn is a function of the seed: the same options make the
// same events (apart from the random salts of the personal-data
// commitments, which the write path draws).
package generate

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// Defaults of the options.
const (
	DefaultSpan         = 365 * 24 * time.Hour
	DefaultBatch        = 5000
	DefaultLargestShare = 0.5
	MaxBatch            = 100_000
	MaxAccounts         = 100_000
	MaxWriters          = 64
)

// DefaultWriters returns how many accounts Run writes at once on the
// engine when Options.Writers is 0: one per CPU the process may use (at
// least two) on a server engine, where each writer holds a connection and
// different accounts' appends commit concurrently; one on SQLite, whose
// single writer connection serialises every transaction anyway.
func DefaultWriters(engine sqlstore.Engine) int {
	if engine == sqlstore.SQLite {
		return 1
	}
	return min(max(2, runtime.GOMAXPROCS(0)), MaxWriters)
}

// Options says what to generate.
type Options struct {
	// Events is how many events to write in all (at least 1).
	Events int64
	// Accounts is how many new accounts to create; 0 with AccountID.
	Accounts int
	// AccountID, when not 0, names an existing account to add the events
	// to, with its users as the staff who act; no account is created.
	AccountID int64
	// LargestShare is the fraction of the events that the first, largest
	// account gets (0 < LargestShare ≤ 1; DefaultLargestShare when 0). The
	// other accounts share the rest with a Zipf-like skew: the k-th of them
	// gets a share proportional to 1/k.
	LargestShare float64
	// Span is how far back from End the events reach (DefaultSpan when 0);
	// each account's events are spread over it, oldest first.
	Span time.Duration
	// End is the time of the newest events; the current time when zero.
	End time.Time
	// Seed makes the events; the same seed makes the same events.
	Seed uint64
	// Batch is how many events each transaction appends (DefaultBatch
	// when 0, at most MaxBatch).
	Batch int
	// Writers is how many accounts are written at once, each by its own
	// writer on its own connection (DefaultWriters of the engine when 0, at
	// most MaxWriters). An account is written by one writer only, its
	// events in order; a writer takes the next account, largest first,
	// when it has drawn the last event of its current one, and a batch may
	// hold the end of one of its accounts and the start of the next.
	Writers int
	// Password is the password of the users of new accounts (required with
	// Accounts), hashed by Hasher once for all of them.
	Password string
	Hasher   *password.Hasher
	// Progress, when set, is called after each committed transaction with
	// the number of events written so far. With several writers it is
	// called from their goroutines, one call at a time, the number never
	// going down.
	Progress func(done int64)
}

// OptionError is an option with a value Run does not accept.
type OptionError struct {
	Option  string // the option's name, as a command-line flag spells it: events, accounts, …
	Message string
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Message }

// ErrSeedUsed means the accounts the options would create already exist:
// the database holds a run of the same seed.
var ErrSeedUsed = errors.New("generate: the accounts of this seed already exist in the database")

// Account is an account that Run wrote events to.
type Account struct {
	ID     int64
	Name   string
	Domain string
	Owner  string // the owner's email; "" for an existing account
	Events int64  // events appended
}

// Result is what Run did.
type Result struct {
	// Accounts lists the accounts written to, the largest first.
	Accounts []Account
	// Written counts the events appended; Replayed those an earlier run of
	// the same seed had already written to an existing account.
	Written, Replayed int64
	// Elapsed is the time spent writing events (not creating accounts or
	// refreshing the planner's statistics).
	Elapsed time.Duration
}

// Validate checks the options as Run does, without a database: it reports
// the first one Run would refuse as an *OptionError. (Run also refuses an
// AccountID the database does not hold.)
func (o Options) Validate() error {
	_, err := o.withDefaults()
	return err
}

// withDefaults fills in the defaults and checks the options.
func (o Options) withDefaults() (Options, error) {
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Span == 0 {
		o.Span = DefaultSpan
	}
	if o.LargestShare == 0 {
		o.LargestShare = DefaultLargestShare
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	o.End = o.End.UTC().Truncate(time.Microsecond)
	bad := func(option, format string, args ...any) (Options, error) {
		return o, &OptionError{option, fmt.Sprintf(format, args...)}
	}
	switch {
	case o.Events < 1:
		return bad("events", "want at least 1 event")
	case o.AccountID < 0:
		return bad("account", "want an account ID, a positive number")
	case o.AccountID != 0 && o.Accounts != 0:
		return bad("accounts", "give either --accounts (new accounts) or --account (an existing one), not both")
	case o.AccountID == 0 && (o.Accounts < 1 || o.Accounts > MaxAccounts):
		return bad("accounts", "want 1 to %d new accounts", MaxAccounts)
	case int64(o.Accounts) > o.Events:
		return bad("accounts", "want no more accounts than events (%d)", o.Events)
	case !(o.LargestShare > 0 && o.LargestShare <= 1):
		return bad("largest-share", "want a fraction above 0 and at most 1")
	case o.Span < time.Second:
		return bad("span", "want a span of at least a second")
	case o.End.Add(-o.Span).Year() < 1971:
		return bad("span", "reaches back before 1971")
	case o.Batch < 1 || o.Batch > MaxBatch:
		return bad("batch", "want 1 to %d events per transaction", MaxBatch)
	case o.Writers < 0 || o.Writers > MaxWriters:
		return bad("writers", "want 1 to %d writers", MaxWriters)
	case o.AccountID == 0 && o.Password == "":
		return bad("password-file", "the new accounts' users need a password")
	case o.AccountID == 0 && o.Hasher == nil:
		return o, errors.New("generate: no password hasher")
	}
	if o.AccountID == 0 {
		if err := audit.ValidatePassword("password", o.Password); err != nil {
			return bad("password-file", "%s", audit.ErrorMessage(err))
		}
	}
	return o, nil
}

// Counts returns how many events each of accounts accounts gets of events
// in all, the largest first: the first gets share of them (all when it is
// the only one), the others the rest in proportion to 1/k, each at least
// one. The counts add up to events.
func Counts(events int64, accounts int, share float64) []int64 {
	counts := make([]int64, accounts)
	if accounts == 1 {
		counts[0] = events
		return counts
	}
	rest := accounts - 1
	counts[0] = min(max(int64(math.Round(float64(events)*share)), 1), events-int64(rest))
	left := events - counts[0] - int64(rest) // each other account has 1 already
	var h float64
	for k := 1; k <= rest; k++ {
		h += 1 / float64(k)
	}
	type frac struct {
		i int
		f float64
	}
	fracs := make([]frac, rest)
	given := int64(0)
	for k := 1; k <= rest; k++ {
		exact := float64(left) / h / float64(k)
		n := int64(exact)
		counts[k] = 1 + n
		given += n
		fracs[k-1] = frac{k, exact - float64(n)}
	}
	// Largest remainders get the events rounding left over.
	sort.SliceStable(fracs, func(a, b int) bool { return fracs[a].f > fracs[b].f })
	for j := int64(0); j < left-given; j++ {
		counts[fracs[j%int64(rest)].i]++
	}
	return counts
}

// Run generates events into db as the options say, signing the logs'
// checkpoints with signer, and then refreshes the planner's statistics (a
// bulk load changes the tables' sizes by a large factor). Its writers
// (Options.Writers) append different accounts' batches concurrently. It
// stops at the first error: every writer stops before its next
// transaction, and every transaction committed before is kept: each is a
// whole batch, and the logs verify.
func Run(ctx context.Context, db *sqlstore.DB, signer *tlog.Signer, o Options) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.Writers == 0 {
		o.Writers = DefaultWriters(db.Engine())
	}
	var shops []*shop
	if o.AccountID != 0 {
		s, err := existingShop(ctx, db, o)
		if err != nil {
			return nil, err
		}
		shops = []*shop{s}
	} else if shops, err = createShops(ctx, db, o); err != nil {
		return nil, err
	}
	res := &Result{}
	for _, s := range shops {
		res.Accounts = append(res.Accounts, Account{ID: s.accountID, Name: s.name, Domain: s.domain, Owner: s.owner})
	}
	index := make(map[int64]int, len(shops))
	for i, s := range shops {
		index[s.accountID] = i
	}
	// The writers take the accounts in order, the largest first, each
	// account by one of them.
	queue := make(chan *shop, len(shops))
	for _, s := range shops {
		queue <- s
	}
	close(queue)
	streams := make([]iter.Seq2[*audit.Event, error], min(o.Writers, len(shops)))
	for w := range streams {
		streams[w] = func(yield func(*audit.Event, error) bool) {
			for s := range queue {
				for s.i < s.n {
					if !yield(s.next()) {
						return
					}
				}
			}
		}
	}
	var mu sync.Mutex // res and o.Progress, for the writers
	start := time.Now()
	err = write(ctx, db, signer, o.Batch, streams, func(batch []*audit.Event, appended []audit.Appended) {
		mu.Lock()
		defer mu.Unlock()
		for i, a := range appended {
			if a.Replayed {
				res.Replayed++
			} else {
				res.Written++
				res.Accounts[index[batch[i].AccountID]].Events++
			}
		}
		if o.Progress != nil {
			o.Progress(res.Written + res.Replayed)
		}
	})
	if err != nil {
		return res, err
	}
	res.Elapsed = time.Since(start)
	if err := db.Analyze(ctx); err != nil {
		return res, fmt.Errorf("generate: refresh the planner's statistics: %w", err)
	}
	return res, nil
}

// Load appends the events that events yields through the store's one
// write path, as Run does: in transactions of batch events (DefaultBatch
// when 0, at most MaxBatch), COPY on PostgreSQL, the next batch being drawn
// on its own goroutine while the database writes the previous one. Each
// committed transaction is a whole batch, so the logs verify, with their
// analytics counts and search text; Load stops at the first error (of
// events or of the database). It returns how many events were written
// (replays of stored event IDs not counted). It serves callers that make
// their own events, such as BenchmarkSearch, and does not refresh the
// planner's statistics.
func Load(ctx context.Context, db *sqlstore.DB, signer *tlog.Signer, batch int, events iter.Seq2[*audit.Event, error]) (int64, error) {
	if batch == 0 {
		batch = DefaultBatch
	}
	if batch < 1 || batch > MaxBatch {
		return 0, &OptionError{"batch", fmt.Sprintf("want 1 to %d events per transaction", MaxBatch)}
	}
	var written int64
	err := write(ctx, db, signer, batch, []iter.Seq2[*audit.Event, error]{events}, func(_ []*audit.Event, appended []audit.Appended) {
		for _, a := range appended {
			if !a.Replayed {
				written++
			}
		}
	})
	return written, err
}

// write appends the events of each stream in transactions of size events,
// the streams concurrently, each by its own writer (no two streams may
// hold events of one account), and calls done after each commit, from the
// writers' goroutines. It returns the first error of any writer, once
// every writer has stopped: the others stop before their next transaction.
func write(ctx context.Context, db *sqlstore.DB, signer *tlog.Signer, size int, streams []iter.Seq2[*audit.Event, error],
	done func(batch []*audit.Event, appended []audit.Appended)) error {
	halt, stop := context.WithCancel(ctx)
	defer stop()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, events := range streams {
		wg.Go(func() {
			if err := writeStream(ctx, halt, db, signer, size, events, done); err != nil {
				once.Do(func() { first = err })
				stop()
			}
		})
	}
	wg.Wait()
	return first
}

// writeStream appends events in transactions of size events, drawing the
// next batch on its own goroutine while the database writes the previous
// one, and calls done after each commit. It stops before its next
// transaction once halt is done, returning ctx's error (nil when only halt
// was cancelled: another writer failed).
func writeStream(ctx, halt context.Context, db *sqlstore.DB, signer *tlog.Signer, size int, events iter.Seq2[*audit.Event, error],
	done func(batch []*audit.Event, appended []audit.Appended)) error {
	batches := make(chan []*audit.Event, 2)
	genErr := make(chan error, 1)
	genCtx, stop := context.WithCancel(halt)
	defer stop()
	go func() {
		defer close(batches)
		genErr <- produce(genCtx, events, size, batches)
	}()
	drain := func() {
		stop()
		for range batches {
		}
	}
	for batch := range batches {
		if halt.Err() != nil {
			drain()
			return ctx.Err()
		}
		var appended []audit.Appended
		// The transaction runs under ctx, not halt: a sibling's failure
		// lets it finish, so what it committed is counted.
		err := db.Update(ctx, func(tx *sqlstore.Tx) error {
			var err error
			appended, err = tx.AppendEvents(ctx, signer, batch...)
			return err
		})
		if err != nil {
			drain()
			return fmt.Errorf("generate: append events: %w", err)
		}
		done(batch, appended)
	}
	if err := <-genErr; err != nil && halt.Err() == nil {
		return err
	}
	return ctx.Err()
}

// produce sends the events in batches of size events.
func produce(ctx context.Context, events iter.Seq2[*audit.Event, error], size int, out chan<- []*audit.Event) error {
	send := func(batch []*audit.Event) error {
		select {
		case out <- batch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	batch := make([]*audit.Event, 0, size)
	for e, err := range events {
		if err != nil {
			return err
		}
		batch = append(batch, e)
		if len(batch) == size {
			if err := send(batch); err != nil {
				return err
			}
			batch = make([]*audit.Event, 0, size)
		}
	}
	if len(batch) > 0 {
		return send(batch)
	}
	return nil
}

// existingShop prepares the events of the account o.AccountID, with its
// users as staff.
func existingShop(ctx context.Context, db *sqlstore.DB, o Options) (*shop, error) {
	acct, err := db.Account(ctx, o.AccountID)
	if errors.Is(err, audit.ErrNotFound) {
		return nil, &OptionError{"account", fmt.Sprintf("no account %d in this database", o.AccountID)}
	} else if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	users, err := db.Users(ctx, acct.ID)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	users = slices.DeleteFunc(users, func(u *audit.User) bool { return !u.IsActive })
	s := newShop(o, 0, acct.ID, acct.Name, acct.Domain, o.Events)
	s.setUsers(users)
	return s, nil
}

// createShops creates o.Accounts accounts, each with an owner and staff,
// in one transaction.
func createShops(ctx context.Context, db *sqlstore.DB, o Options) ([]*shop, error) {
	hash, err := o.Hasher.Hash(ctx, o.Password)
	if err != nil {
		return nil, fmt.Errorf("generate: hash the password: %w", err)
	}
	counts := Counts(o.Events, o.Accounts, o.LargestShare)
	shops := make([]*shop, o.Accounts)
	err = db.Update(ctx, func(tx *sqlstore.Tx) error {
		for k := range shops {
			r := rand.New(rand.NewPCG(o.Seed, uint64(1<<32+k)))
			name := shopWords[k%len(shopWords)] + " " + shopNouns[(k/len(shopWords))%len(shopNouns)]
			slug := strings.Trim(strings.Map(func(c rune) rune {
				switch {
				case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
					return c
				case c >= 'A' && c <= 'Z':
					return c + 'a' - 'A'
				}
				return '-'
			}, strings.ReplaceAll(name, " & ", " ")), "-")
			slug = strings.ReplaceAll(strings.ReplaceAll(slug, "--", "-"), "--", "-")
			domain := fmt.Sprintf("%s-%d.seed%d.example", slug, k+1, o.Seed)
			acct := &audit.Account{Name: name, Domain: domain}
			if err := tx.CreateAccount(ctx, acct); err != nil {
				if errors.Is(err, audit.ErrDomainTaken) {
					return fmt.Errorf("%w (%s); pass another --seed", ErrSeedUsed, domain)
				}
				return err
			}
			staff := 1 + r.IntN(4)
			if k == 0 {
				staff = 12
			}
			users := make([]*audit.User, 0, staff)
			seen := map[string]bool{}
			for i := range staff {
				u := &audit.User{AccountID: acct.ID, PasswordHash: hash, FirstName: pick(r, firstNames), LastName: pick(r, lastNames), IsActive: true}
				switch {
				case i == 0:
					u.Role, u.Email = audit.RoleOwner, "owner@"+domain
				default:
					u.Role = []audit.Role{audit.RoleAdmin, audit.RoleAnalyst, audit.RoleContentCreator}[i%3]
					u.Email = strings.ToLower(u.FirstName + "." + u.LastName)
					for seen[u.Email] {
						u.Email += strconv.Itoa(i)
					}
					seen[u.Email] = true
					u.Email += "@" + domain
				}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				users = append(users, u)
			}
			s := newShop(o, k, acct.ID, name, domain, counts[k])
			s.owner = users[0].Email
			s.setUsers(users)
			shops[k] = s
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrSeedUsed) {
			return nil, err
		}
		return nil, fmt.Errorf("generate: create accounts: %w", err)
	}
	return shops, nil
}

// shop makes one account's events, oldest first.
type shop struct {
	r         *rand.Rand
	accountID int64
	name      string
	domain    string
	owner     string
	currency  string
	users     []*audit.User
	byRole    map[audit.Role][]*audit.User
	ip, ua    map[int64]string // each user's usual address and browser
	customers int
	products  int
	orders    int // the last order number
	bankLast4 string
	eventIDs  string // the prefix of the event IDs of the platform's events
	n, i      int64  // events to make, made
	start     time.Time
	span      time.Duration
	validated time.Time // the "now" of validation
}

// cumulative holds the catalogue's cumulative weights.
var cumulative = func() []int {
	c := make([]int, len(catalogue))
	sum := 0
	for i, k := range catalogue {
		sum += k.weight
		c[i] = sum
	}
	return c
}()

func newShop(o Options, k int, accountID int64, name, domain string, n int64) *shop {
	r := rand.New(rand.NewPCG(o.Seed, uint64(k)))
	return &shop{
		r: r, accountID: accountID, name: name, domain: domain,
		currency:  pick(r, []string{"USD", "USD", "USD", "EUR", "GBP", "CAD", "AUD"}),
		customers: int(min(max(50, n/20), 2_000_000)),
		products:  int(min(max(20, n/2000), 50_000)),
		orders:    1000,
		bankLast4: fmt.Sprintf("%04d", r.IntN(10000)),
		eventIDs:  "evt_" + strconv.FormatUint(o.Seed, 36) + "_",
		n:         n,
		start:     o.End.Add(-o.Span),
		span:      o.Span,
		validated: o.End,
	}
}

func (s *shop) setUsers(users []*audit.User) {
	s.users = users
	s.byRole = map[audit.Role][]*audit.User{}
	s.ip, s.ua = map[int64]string{}, map[int64]string{}
	for _, u := range users {
		s.byRole[u.Role] = append(s.byRole[u.Role], u)
		s.ip[u.ID] = s.randomIP()
		s.ua[u.ID] = pick(s.r, browsers)
	}
}

// next makes the shop's next event.
func (s *shop) next() (*audit.Event, error) {
	in := &ingest.EventInput{}
	k := catalogue[sort.SearchInts(cumulative, 1+s.r.IntN(cumulative[len(cumulative)-1]))]
	in.Action = k.action
	k.make(s, in)
	e, problems := in.Validate(0, s.validated)
	if len(problems) > 0 {
		return nil, fmt.Errorf("generate: %s made an invalid event: %s: %s", k.action, problems[0].Field, problems[0].Message)
	}
	e.AccountID = s.accountID
	if e.UserID != 0 {
		for _, u := range s.users {
			if u.ID == e.UserID {
				e.SetUserActor(u)
			}
		}
	}
	// The i-th of n events falls at a random point of the i-th of n equal
	// slices of the span, so the log is in time order.
	slot := float64(s.span) / float64(s.n)
	e.CreatedAt = s.start.Add(time.Duration((float64(s.i) + s.r.Float64()) * slot)).Truncate(time.Microsecond)
	s.i++
	return e, nil
}

// staff makes a user of the account with one of the roles (any user when
// none has them) the actor, and returns the user's ID. An account without
// users gets an external staff actor.
func (s *shop) staff(in *ingest.EventInput, roles ...audit.Role) string {
	var u *audit.User
	for _, i := range s.r.Perm(len(roles)) {
		if us := s.byRole[roles[i]]; len(us) > 0 {
			u = pick(s.r, us)
			break
		}
	}
	if u == nil && len(s.users) > 0 {
		u = pick(s.r, s.users)
	}
	if u == nil {
		in.Actor = &ingest.ActorInput{ID: "staff_1", Name: "Store staff", Type: "staff"}
		in.IPAddress, in.UserAgent = "198.51.100.7", browsers[0]
		return "staff_1"
	}
	in.Actor = &ingest.ActorInput{UserID: u.ID}
	in.IPAddress, in.UserAgent = s.ip[u.ID], s.ua[u.ID]
	return strconv.FormatInt(u.ID, 10)
}

// anyUser returns the ID of a user of the account.
func (s *shop) anyUser() string {
	if len(s.users) == 0 {
		return "staff_1"
	}
	return strconv.FormatInt(pick(s.r, s.users).ID, 10)
}

// customer makes a customer of the shop the actor (returning ones more
// often than others) and returns the customer's ID. The platform sends the
// event with an event ID.
func (s *shop) customer(in *ingest.EventInput) string {
	u := s.r.Float64()
	c := int(u * u * float64(s.customers))
	h := uint64(c)*0x9e3779b97f4a7c15 + uint64(s.accountID)
	first, last := firstNames[h%uint64(len(firstNames))], lastNames[(h>>16)%uint64(len(lastNames))]
	id := "cust_" + strconv.Itoa(c+1)
	in.Actor = &ingest.ActorInput{ID: id, Type: "customer", Name: first + " " + last,
		Email: strings.ToLower(first+"."+last) + strconv.Itoa(c+1) + "@" + mailDomains[(h>>32)%uint64(len(mailDomains))]}
	if h>>40%7 == 0 {
		in.IPAddress = fmt.Sprintf("2001:db8:%x:%x::%x", h>>8&0xffff, h>>24&0xffff, c&0xffff)
	} else {
		in.IPAddress = fmt.Sprintf("%d.%d.%d.%d", 11+(h>>8)%200, (h>>16)%256, (h>>24)%256, 1+(h>>32)%254)
	}
	in.UserAgent = browsers[(h>>48)%uint64(len(browsers))]
	in.EventID = s.eventID()
	return id
}

// service makes one of the platform's services the actor; the platform
// sends the event with an event ID.
func (s *shop) service(in *ingest.EventInput, id, name string) {
	in.Actor = &ingest.ActorInput{ID: id, Name: name, Type: "service"}
	in.IPAddress = "10.20." + strconv.Itoa(len(id)) + "." + strconv.Itoa(10+int(id[4]-'a'))
	in.UserAgent = strings.TrimPrefix(id, "svc_") + "-service/2." + strconv.Itoa(len(name)%7)
	in.EventID = s.eventID()
}

// eventID returns the next event's idempotency key: unique within the
// account for a seed, so that running the same seed again on an existing
// account replays rather than duplicates.
func (s *shop) eventID() string { return s.eventIDs + strconv.FormatInt(s.i+1, 36) }

// newOrder returns the number of a new order.
func (s *shop) newOrder() int { s.orders++; return s.orders }

// order returns the number of a recent order.
func (s *shop) order() int { return s.orders - s.r.IntN(min(s.orders-1000+1, 200)) }

// product is a product of the shop's catalogue.
type productRef struct{ id, name, sku string }

// product returns a product, popular ones more often.
func (s *shop) product() productRef {
	u := s.r.Float64()
	p := int(u * u * float64(s.products))
	name := productWords[p%len(productWords)] + " " + productNouns[(p/len(productWords))%len(productNouns)]
	if v := p / (len(productWords) * len(productNouns)); v > 0 {
		name += " No. " + strconv.Itoa(v+1)
	}
	return productRef{id: "prod_" + strconv.Itoa(1000+p), name: name, sku: fmt.Sprintf("SKU-%05d", p)}
}

// randomIP returns a public-looking IPv4 address.
func (s *shop) randomIP() string {
	return fmt.Sprintf("%d.%d.%d.%d", 11+s.r.IntN(200), s.r.IntN(256), s.r.IntN(256), 1+s.r.IntN(254))
}

// Events returns n events of one account as Run makes them for an account
// on domain with the given users (o's Seed, Span and End apply), oldest
// first, without writing them: for benchmarks and tests that need
// realistic events. The events have no Seq, salt or hashes yet.
func Events(o Options, accountID int64, domain string, users []*audit.User, n int64) ([]*audit.Event, error) {
	if o.Span == 0 {
		o.Span = DefaultSpan
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	o.End = o.End.UTC().Truncate(time.Microsecond)
	s := newShop(o, 0, accountID, "", domain, n)
	s.setUsers(users)
	events := make([]*audit.Event, 0, n)
	for s.i < s.n {
		e, err := s.next()
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, nil
}
