package chat

import (
	"regexp"
	"slices"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
)

// A verb is a kind of action a question names ("refunded", "logged in"):
// an action in the account's vocabulary matches it when one of the
// action's words (split at "." and "_") is one of its tokens.
type verb struct {
	re func() *regexp.Regexp
	// tokens are the action words it matches; past is the word of the
	// canonical action (order.refunded) used when the vocabulary has none.
	tokens []string
	past   string
	// generic verbs (change, edit) narrow to actions only with a more
	// precise word ("price", "destination"); alone they select every
	// action on what they name.
	generic bool
}

var verbs = []verb{
	{re: lazyRE(`\brefund\w*`), tokens: []string{"refunded", "refund", "refunds"}, past: "refunded"},
	{re: lazyRE(`\bcancel\w*`), tokens: []string{"cancelled", "canceled", "cancel"}, past: "cancelled"},
	{re: lazyRE(`\b(failed (?:to )?)?(?:log(?:ged|s)? ?ins?|sign(?:ed|s)? ?ins?|sign-ins?|log-ins?)\b`), tokens: []string{"login"}, past: "login"},
	{re: lazyRE(`\b(?:log(?:ged|s)? ?outs?|sign(?:ed|s)? ?outs?)\b`), tokens: []string{"logout"}, past: "logout"},
	{re: lazyRE(`\b(?:delet\w*|remov\w*)`), tokens: []string{"deleted", "removed", "delete"}, past: "deleted"},
	{re: lazyRE(`\bdisabl\w*|\bturned off\b`), tokens: []string{"disabled"}, past: "disabled"},
	{re: lazyRE(`\benabl\w*|\bturned on\b`), tokens: []string{"enabled"}, past: "enabled"},
	{re: lazyRE(`\b(?:creat\w*|added|adds?)\b|\bnew (?:\w+ )?(?:orders?|products?|customers?|discounts?|users?|api keys?|collections?|staff)\b`), tokens: []string{"created", "added"}, past: "created"},
	{re: lazyRE(`\bupdat\w*`), tokens: []string{"updated"}, past: "updated"},
	{re: lazyRE(`\bfulfill?\w*|\bshipped\b`), tokens: []string{"fulfilled"}, past: "fulfilled"},
	{re: lazyRE(`\bexport\w*`), tokens: []string{"exported"}, past: "exported"},
	{re: lazyRE(`\binstall\w*`), tokens: []string{"installed"}, past: "installed"},
	{re: lazyRE(`\binvit\w*`), tokens: []string{"invited"}, past: "invited"},
	{re: lazyRE(`\bpublish\w*`), tokens: []string{"published"}, past: "published"},
	{re: lazyRE(`\badjust\w*`), tokens: []string{"adjusted"}, past: "adjusted"},
	{re: lazyRE(`\brevok\w*`), tokens: []string{"revoked"}, past: "revoked"},
	{re: lazyRE(`\bdeactivat\w*|\bdisabled? (?:user|account)`), tokens: []string{"deactivated"}, past: "deactivated"},
	{re: lazyRE(`\breactivat\w*`), tokens: []string{"reactivated"}, past: "reactivated"},
	{re: lazyRE(`\bpaid\b`), tokens: []string{"paid"}, past: "paid"},
	{re: lazyRE(`\b(?:sent|send)\b`), tokens: []string{"sent"}, past: "sent"},
	{re: lazyRE(`\b(?:chang\w*|modif\w*|edit\w*|touch\w*|alter\w*)`), tokens: []string{"changed", "updated"}, past: "changed", generic: true},
}

// A noun is a kind of thing a question names. Type is the resource type
// it selects when no action is named ("changes to payouts"); words are
// the action words it matches.
type noun struct {
	re    func() *regexp.Regexp
	typ   string
	words []string
}

var nouns = []noun{
	{lazyRE(`\borders?\b`), "order", []string{"order"}},
	{lazyRE(`\bproducts?\b`), "product", []string{"product"}},
	{lazyRE(`\bcustomers?\b`), "customer", []string{"customer"}},
	{lazyRE(`\bpayouts?\b`), "payout", []string{"payout"}},
	{lazyRE(`\b(?:discounts?|discount codes?|coupons?)\b`), "discount", []string{"discount"}},
	{lazyRE(`\bcollections?\b`), "collection", []string{"collection"}},
	{lazyRE(`\bblog posts?\b`), "blog_post", []string{"blog", "post"}},
	{lazyRE(`\bapi keys?\b`), "api_key", []string{"api", "key"}},
	{lazyRE(`\bthemes?\b`), "theme", []string{"theme"}},
	{lazyRE(`\bapps?\b`), "app", []string{"app"}},
	{lazyRE(`\bsettings?\b`), "settings", []string{"settings"}},
	{lazyRE(`\b(?:payments?|charges?)\b`), "", []string{"payment"}},
	{lazyRE(`\b(?:inventory|stock)\b`), "", []string{"inventory"}},
	{lazyRE(`\bstaff\b`), "", []string{"staff"}},
	{lazyRE(`\b(?:passwords?)\b`), "", []string{"password"}},
	{lazyRE(`\b(?:mfa|two-factor|2fa)\b`), "", []string{"mfa"}},
	{lazyRE(`\baudit logs?\b`), "", []string{"audit", "log"}},
}

// details are words that narrow a generic verb to one action
// ("changed the price" is product.price_changed).
var details = []string{"price", "destination", "address", "role", "password", "policy", "title", "email"}

// builtinActions are the actions the service records itself: always in
// the vocabulary.
var builtinActions = []string{
	audit.ActionUserLogin, audit.ActionLoginFailed, audit.ActionUserLogout, audit.ActionAccountCreated,
	audit.ActionUserCreated, audit.ActionLogExported, audit.ActionAPIKeyCreated, audit.ActionAPIKeyRevoked,
	audit.ActionUserRoleChanged, audit.ActionUserDeactivated, audit.ActionUserReactivated,
	audit.ActionPasswordChanged, audit.ActionMFAEnabled, audit.ActionMFADisabled,
}

func actionWords(a string) []string {
	return strings.FieldsFunc(a, func(r rune) bool { return r == '.' || r == '_' })
}

func hasAny(words, want []string) bool {
	for _, w := range want {
		if slices.Contains(words, w) {
			return true
		}
	}
	return false
}

func hasAll(words, want []string) bool {
	for _, w := range want {
		if !slices.Contains(words, w) {
			return false
		}
	}
	return true
}

// matchActions picks the vocabulary's actions that the question's verb,
// nouns and detail words name. fail says the question asks about
// failures; failHandled reports that an action of failures ("login_failed")
// says it, so no outcome filter is needed. canonical is set when the
// vocabulary names no such action: the action the service would expect
// (noun.verb), or "" when there is not even that.
func matchActions(vocab []string, v *verb, ns []noun, question string, fail bool) (actions []string, failHandled bool) {
	if v == nil && !(fail && len(ns) > 0) {
		return nil, false
	}
	var detail []string
	for _, d := range details {
		if reDetailWord()[d].MatchString(question) {
			detail = append(detail, d)
		}
	}
	if v != nil && v.generic && len(detail) == 0 {
		return nil, false
	}
	var cands []string
	for _, a := range vocab {
		w := actionWords(a)
		switch {
		case v != nil && v.generic:
			if hasAny(w, detail) && hasAny(w, v.tokens) {
				cands = append(cands, a)
			}
		case v != nil:
			if hasAny(w, v.tokens) {
				cands = append(cands, a)
			}
		default:
			if slices.Contains(w, "failed") {
				cands = append(cands, a)
			}
		}
	}
	if len(ns) > 0 && len(cands) > 0 {
		var keep []string
		for _, a := range cands {
			for _, n := range ns {
				if hasAll(actionWords(a), n.words) {
					keep = append(keep, a)
					break
				}
			}
		}
		if len(keep) == 0 && (v == nil || v.past != "login" && v.past != "logout") {
			cands = nil
		} else if len(keep) > 0 {
			cands = keep
		}
	}
	if len(detail) > 0 && len(cands) > 1 {
		var keep []string
		for _, a := range cands {
			if hasAny(actionWords(a), detail) {
				keep = append(keep, a)
			}
		}
		if len(keep) > 0 {
			cands = keep
		}
	}
	var failed, other []string
	for _, a := range cands {
		if slices.Contains(actionWords(a), "failed") {
			failed = append(failed, a)
		} else {
			other = append(other, a)
		}
	}
	switch {
	case fail && len(failed) > 0:
		cands, failHandled = failed, true
	case len(other) > 0:
		cands = other
	}
	if len(cands) == 0 && v != nil && !v.generic {
		for _, n := range ns {
			if n.typ != "" {
				return []string{n.typ + "." + v.past}, false
			}
		}
	}
	slices.Sort(cands)
	cands = slices.Compact(cands)
	if len(cands) > 20 {
		cands = cands[:20]
	}
	return cands, failHandled
}
