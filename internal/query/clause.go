package query

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// fields maps qualifier names to fields; "metadata.KEY" is handled apart.
var fields = map[string]Field{
	"action": FieldAction, "actor": FieldActor, "actor_type": FieldActorType,
	"resource": FieldResource, "resource_type": FieldResourceType, "resource_id": FieldResourceID,
	"ip": FieldIP, "outcome": FieldOutcome, "created": FieldCreated, "user_id": FieldUserID,
}

// fieldNames are the qualifier names, for suggestions.
var fieldNames = []string{"action", "actor", "actor_type", "created", "ip", "metadata", "outcome", "resource", "resource_id", "resource_type", "user_id"}

// aliases are names people carry over from the event's JSON fields or from
// other products' search languages, with the qualifier to suggest instead.
var aliases = map[string]string{
	"actions": "action", "event": "action", "operation": "action", "op": "action",
	"actor_id": "actor", "actor_email": "actor", "actor_name": "actor", "user": "actor", "email": "actor", "by": "actor",
	"created_at": "created", "date": "created", "time": "created", "timestamp": "created", "received": "created", "when": "created",
	"ip_address": "ip", "ip_addr": "ip", "actor_ip": "ip", "address": "ip",
	"status": "outcome", "result": "outcome",
	"type": "resource_type", "target": "resource", "target_type": "resource_type", "target_id": "resource_id",
	"userid": "user_id", "uid": "user_id",
}

// metadataAliases are names other products use for custom event fields.
var metadataAliases = map[string]bool{"meta": true, "fields": true, "field": true, "data": true, "custom": true, "md": true}

const qualifierList = "qualifiers are action, actor, actor_type, created, ip, metadata.KEY, outcome, resource, resource_id, resource_type and user_id; to search for the text, put it in quotes"

var (
	// actionPattern is ingest's pattern of an action name.
	actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
	// actionPrefixPattern is what may come before a wildcard: the start
	// of an action name, such as "order.", "order.ref" or "ord".
	actionPrefixPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.?$`)
	// actorTypePattern is ingest's pattern of an actor type.
	actorTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// maxActionLen is ingest's limit on an action name.
const maxActionLen = 100

// clause parses a qualifier term whose name has been read; p.i is just
// after the colon.
func (p *parser) clause(start int, negated bool, name string) *Error {
	if err := p.countTerm(start); err != nil {
		return err
	}
	namePos := p.i - len(name) - 1
	c := Clause{Negated: negated, Pos: start}
	lower := asciiLower(name)
	if f, ok := fields[lower]; ok {
		c.Field = f
	} else if key, ok := strings.CutPrefix(lower, "metadata."); ok {
		c.Field, c.Key = FieldMetadata, name[len(name)-len(key):]
		if err := p.checkKey(c.Key, namePos+len("metadata.")); err != nil {
			return err
		}
	} else {
		return p.unknownQualifier(name, namePos)
	}
	if p.atSpace() {
		return p.errorf(p.i, "", "missing value after %q", name+":")
	}
	for {
		if len(c.Values) == MaxValues {
			return p.errorf(p.i, fmt.Sprintf("a qualifier takes at most %d values", MaxValues), "too many values")
		}
		v, err := p.value(c.Field)
		if err != nil {
			return err
		}
		c.Values = append(c.Values, v)
		if p.atSpace() {
			break
		}
		switch {
		case p.src[p.i] == ',':
			p.i++
			if p.atSpace() {
				return p.errorf(p.i, "remove the trailing comma", `missing value after ","`)
			}
		case p.src[p.i-1] == '"':
			return p.errorf(p.i, "put a space between terms, or a comma between values", "unexpected text after closing quote")
		default:
			return p.errorf(p.i, `a range has one ".."`, `unexpected ".."`)
		}
	}
	p.q.Clauses = append(p.q.Clauses, c)
	return nil
}

func (p *parser) unknownQualifier(name string, pos int) *Error {
	lower := asciiLower(name)
	hint := ""
	if s, ok := aliases[lower]; ok {
		hint = `did you mean "` + s + `"?`
	} else if head, rest, ok := strings.Cut(lower, "."); ok {
		if metadataAliases[head] || distance(head, "metadata") <= 2 {
			hint = `did you mean "metadata.` + name[len(name)-len(rest):] + `"?`
		}
	} else if lower == "metadata" {
		return p.errorf(pos, "such as metadata.plan:pro", "metadata needs a key")
	} else if metadataAliases[lower] {
		hint = "custom fields are searched as metadata.KEY, such as metadata.plan:pro"
	} else {
		hint = didYouMean(lower, fieldNames)
		if hint == `did you mean "metadata"?` {
			hint = "did you mean metadata.KEY, such as metadata.plan:pro?"
		}
	}
	if hint == "" {
		hint = qualifierList
	}
	return p.errorf(pos, hint, "unknown qualifier %q", name)
}

// checkKey checks a metadata key at pos: segments of ASCII letters, digits
// and "_", joined by dots.
func (p *parser) checkKey(key string, pos int) *Error {
	segs := strings.Split(key, ".")
	switch {
	case key == "":
		return p.errorf(pos, "such as metadata.plan:pro", "missing metadata key")
	case len(key) > MaxKeyLen || len(segs) > MaxKeyDepth:
		return p.errorf(pos, fmt.Sprintf("a key has at most %d characters and %d parts", MaxKeyLen, MaxKeyDepth), "metadata key is too long")
	case slices.Contains(segs, ""):
		return p.errorf(pos, `keys are names of letters, digits and "_" joined by single dots, such as metadata.shipping.country`, "%q is not a metadata key", key)
	}
	return nil
}

// atom reads one value at p.i: quoted, or bare up to a space, a comma or,
// in a created value, "..".
func (p *parser) atom(created bool) (text string, quoted bool, err *Error) {
	if p.i < len(p.src) && p.src[p.i] == '"' {
		text, err := p.quoted()
		return text, true, err
	}
	start := p.i
	for !p.atSpace() {
		c := p.src[p.i]
		if c == ',' || created && strings.HasPrefix(p.src[p.i:], "..") {
			break
		}
		if c == '"' {
			return "", false, p.errorf(p.i, `put the whole value in quotes, such as actor:"Adam Admin"`, "unexpected quote inside a value")
		}
		_, n := utf8.DecodeRuneInString(p.src[p.i:])
		p.i += n
	}
	return p.src[start:p.i], false, nil
}

// value parses one value of field f at p.i.
func (p *parser) value(f Field) (Value, *Error) {
	if f == FieldCreated {
		return p.created()
	}
	pos := p.i
	text, quoted, err := p.atom(false)
	if err != nil {
		return Value{}, err
	}
	switch {
	case text == "" && quoted:
		return Value{}, p.errorf(pos, "", "empty value")
	case text == "":
		return Value{}, p.errorf(pos, "remove the extra comma", "empty value")
	case utf8.RuneCountInString(text) > MaxValueLen:
		return Value{}, p.errorf(pos, fmt.Sprintf("a value has at most %d characters", MaxValueLen), "value is too long")
	}
	if !quoted && f != FieldAction {
		if i := strings.IndexByte(text, '*'); i >= 0 {
			hint := `to match a literal "*", put the value in quotes`
			if f == FieldIP {
				hint = "use a CIDR range, such as 10.0.0.0/8"
			}
			return Value{}, p.errorf(pos+i, hint, "wildcards work only in action values")
		}
		if text[0] == '<' || text[0] == '>' {
			return Value{}, p.errorf(pos, "to match the text, put the value in quotes", "comparisons work only with created")
		}
	}
	v := Value{Op: OpEq, Text: text}
	switch f {
	case FieldAction:
		return p.action(text, quoted, pos)
	case FieldActorType:
		v.Text = asciiLower(text)
		if !actorTypePattern.MatchString(v.Text) {
			return v, p.errorf(pos, "actor types are lower-case words such as user, api_key, system, external or customer", "%q is not an actor type", text)
		}
	case FieldOutcome:
		v.Text = asciiLower(text)
		if v.Text != "success" && v.Text != "failure" {
			return v, p.errorf(pos, outcomeHint(v.Text), "%q is not an outcome", text)
		}
	case FieldUserID:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n < 1 || n > 1<<62 || strings.Trim(text, "0123456789") != "" {
			return v, p.errorf(pos, "user IDs are whole numbers from 1, such as user_id:42", "%q is not a user ID", text)
		}
		v.Text, v.Int = strconv.FormatInt(n, 10), n
	case FieldIP:
		return p.ip(text, pos)
	case FieldResource:
		typ, id, hasID := strings.Cut(text, ":")
		switch {
		case typ == "":
			return v, p.errorf(pos, "such as resource:order or resource:order:1234", "missing resource type")
		case hasID && id == "":
			return v, p.errorf(pos+len(text), "such as resource:order:1234, or resource:order for any order", "missing resource ID after %q", typ+":")
		}
		v.Type, v.ID = typ, id
	}
	return v, nil
}

// action checks an action value: an action name, or the start of one
// followed by "*".
func (p *parser) action(text string, quoted bool, pos int) (Value, *Error) {
	t := asciiLower(text)
	const hint = "actions are words of letters, digits and underscores joined by dots, such as order.refunded"
	if prefix, ok := strings.CutSuffix(t, "*"); ok && !quoted {
		switch {
		case prefix == "":
			return Value{}, p.errorf(pos, "such as action:order.*", "a wildcard needs the start of an action before it")
		case !actionPrefixPattern.MatchString(prefix) || len(prefix) > maxActionLen:
			if i := strings.IndexByte(prefix, '*'); i >= 0 {
				return Value{}, p.errorf(pos+i, "a wildcard goes only at the end, such as action:order.*", "misplaced wildcard")
			}
			return Value{}, p.errorf(pos, hint, "%q is not the start of an action", text)
		}
		return Value{Op: OpPrefix, Text: prefix}, nil
	}
	if len(t) > maxActionLen || !actionPattern.MatchString(t) {
		switch i := strings.IndexByte(t, '*'); {
		case i >= 0 && quoted:
			return Value{}, p.errorf(pos, "a quoted value matches exactly; leave out the quotes to match a prefix, such as action:order.*", "%q is not an action", text)
		case i >= 0:
			return Value{}, p.errorf(pos+i, "a wildcard goes only at the end, such as action:order.*", "misplaced wildcard")
		}
		return Value{}, p.errorf(pos, hint, "%q is not an action", text)
	}
	return Value{Op: OpEq, Text: t}, nil
}

// ip parses an address or a CIDR range.
func (p *parser) ip(text string, pos int) (Value, *Error) {
	if strings.Contains(text, "/") {
		pfx, err := netip.ParsePrefix(text)
		if err != nil {
			return Value{}, p.errorf(pos, "such as 10.0.0.0/8 or 2001:db8::/32", "%q is not a CIDR range", text)
		}
		if a := pfx.Addr(); a.Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
		}
		pfx = pfx.Masked()
		return Value{Op: OpCIDR, Text: pfx.String(), Prefix: pfx}, nil
	}
	a, err := netip.ParseAddr(text)
	if err != nil || a.Zone() != "" {
		return Value{}, p.errorf(pos, "such as 203.0.113.7 or 2001:db8::1, or a CIDR range such as 10.0.0.0/8", "%q is not an IP address", text)
	}
	a = a.Unmap()
	return Value{Op: OpEq, Text: a.String(), Prefix: netip.PrefixFrom(a, a.BitLen())}, nil
}

func outcomeHint(s string) string {
	switch s {
	case "fail", "failed", "failing", "error", "errored", "denied", "rejected", "false":
		return `did you mean "failure"?`
	case "ok", "succeeded", "successful", "succeed", "passed", "true":
		return `did you mean "success"?`
	}
	if h := didYouMean(s, []string{"success", "failure"}); h != "" {
		return h
	}
	return "use success or failure"
}

// asciiLower lower-cases the ASCII letters of s and leaves the rest as is.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func splitDots(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ".")
}
