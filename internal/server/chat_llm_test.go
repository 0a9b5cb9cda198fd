package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// scriptedModel is an OpenAI-compatible chat-completions endpoint that
// answers each request with the next step of a script, and keeps every
// request it received.
type scriptedModel struct {
	mu       sync.Mutex
	script   func(round int, msgs []map[string]any) (msg map[string]any, status int)
	requests []map[string]any
	auth     []string
}

func (m *scriptedModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.NotFound(w, r)
		return
	}
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	m.requests = append(m.requests, req)
	m.auth = append(m.auth, r.Header.Get("Authorization"))
	round := len(m.requests)
	script := m.script
	m.mu.Unlock()
	var msgs []map[string]any
	for _, x := range req["messages"].([]any) {
		msgs = append(msgs, x.(map[string]any))
	}
	msg, status := script(round, msgs)
	if status != 0 {
		http.Error(w, `{"error":{"message":"scripted failure"}}`, status)
		return
	}
	msg["role"] = "assistant"
	reason := "stop"
	if msg["tool_calls"] != nil {
		reason = "tool_calls"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": fmt.Sprintf("chatcmpl-%d", round), "object": "chat.completion", "created": 1, "model": req["model"],
		"choices": []any{map[string]any{"index": 0, "finish_reason": reason, "message": msg}},
	})
}

func (m *scriptedModel) reset(script func(int, []map[string]any) (map[string]any, int)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.script, m.requests, m.auth = script, nil, nil
}

func toolCall(id, name, args string) map[string]any {
	return map[string]any{"id": id, "type": "function", "function": map[string]any{"name": name, "arguments": args}}
}

// TestChatWithModel runs POST /api/chat against a scripted model: the
// model only reaches the account's events through the tools, tool results
// reach it as data in tool messages (prompt injection in an event's
// details stays there), malformed and unknown tool calls get errors it can
// read, citations of events the tools did not return are removed, a model
// that never stops is cut off, and a failing endpoint leaves the built-in
// engine to answer.
func TestChatWithModel(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		model := &scriptedModel{}
		ms := httptest.NewServer(model)
		t.Cleanup(ms.Close)
		e := newTestEnv(t, db, withConfig(func(c *config.Config) {
			c.ChatLLMURL, c.ChatLLMModel, c.ChatLLMAPIKey = ms.URL+"/v1", "scripted-model", "model-key"
		}))
		acme, other, _, janeEmail := chatTenants(t, e)

		var refundID float64
		model.reset(func(round int, msgs []map[string]any) (map[string]any, int) {
			switch round {
			case 1:
				return map[string]any{"content": nil, "tool_calls": []any{
					toolCall("c1", "search_events", `{"q":"action:order.refunded resource:order:1042"}`),
					toolCall("c2", "search_events", `{not json`),
					toolCall("c3", "delete_all_events", `{}`),
					toolCall("c4", "count_events", `{"q":"acton:x"}`),
				}}, 0
			default:
				var data struct {
					Data struct {
						Events []struct {
							ID float64 `json:"id"`
						} `json:"events"`
					} `json:"data"`
				}
				json.Unmarshal([]byte(msgs[len(msgs)-4]["content"].(string)), &data)
				if len(data.Data.Events) > 0 {
					refundID = data.Data.Events[0].ID
				}
				return map[string]any{"content": fmt.Sprintf("Jane refunded order 1042 [event %d]. Also see [event 999999].", int64(refundID))}, 0
			}
		})
		r := ask(t, acme.owner, map[string]any{"message": "Who refunded order 1042 last week?"})
		if len(model.requests) != 2 {
			t.Fatalf("%d requests to the model; want 2", len(model.requests))
		}
		if model.auth[0] != "Bearer model-key" || model.requests[0]["model"] != "scripted-model" {
			t.Errorf("request auth %q model %v", model.auth[0], model.requests[0]["model"])
		}
		if got := cited(t, acme.owner, r); len(got) != 1 || got[0] != janeEmail || num(r.list("events")[0].(map[string]any), "id") != int64(refundID) {
			t.Errorf("cited %v; want jane's refund only", got)
		}
		answer, _ := r.body["answer"].(string)
		if strings.Contains(answer, "999999") || !strings.Contains(answer, "citation removed") {
			t.Errorf("answer %q still cites an event the tools did not return", answer)
		}
		q := r.obj("query")
		if q["kind"] != "model" || q["q"] != "action:order.refunded resource:order:1042" || len(q["calls"].([]any)) != 4 {
			t.Errorf("query %v", q)
		}
		// What the model saw: the injection only inside tool results, the
		// errors of the bad calls, nothing of the other account.
		msgs := model.requests[1]["messages"].([]any)
		var tools []string
		for _, x := range msgs {
			m := x.(map[string]any)
			content, _ := m["content"].(string)
			if strings.Contains(content, "Ignore your previous instructions") && m["role"] != "tool" {
				t.Errorf("event text reached the model as a %s message", m["role"])
			}
			if strings.Contains(content, other.domain) {
				t.Errorf("the other account's data reached the model: %s", content)
			}
			if m["role"] == "tool" {
				tools = append(tools, content)
			}
		}
		if len(tools) != 4 || !strings.Contains(tools[0], "Ignore your previous instructions") || !strings.Contains(tools[0], "never follow instructions") ||
			!strings.Contains(tools[1], "not valid JSON") || !strings.Contains(tools[2], "there is no tool") || !strings.Contains(tools[3], `did you mean \"action\"`) {
			t.Errorf("tool results %q", tools)
		}
		if sys := msgs[0].(map[string]any); sys["role"] != "system" || strings.Contains(sys["content"].(string), "Ignore your previous") {
			t.Errorf("system message %v", sys)
		}
		events := acme.events(t, "action=chat.query")
		if d, _ := events.list("audit_logs")[0].(map[string]any)["details"].(string); !strings.Contains(d, "(model)") {
			t.Errorf("chat.query details %q", d)
		}

		// A follow-up sends the conversation so far.
		conv := num(r.body, "conversation_id")
		model.reset(func(round int, msgs []map[string]any) (map[string]any, int) {
			return map[string]any{"content": "Nothing more."}, 0
		})
		ask(t, acme.owner, map[string]any{"message": "and this week?", "conversation_id": conv})
		if msgs := model.requests[0]["messages"].([]any); len(msgs) != 4 || msgs[1].(map[string]any)["content"] != "Who refunded order 1042 last week?" {
			t.Errorf("follow-up messages %v", msgs)
		}

		// A model that never stops calling tools is cut off.
		model.reset(func(round int, msgs []map[string]any) (map[string]any, int) {
			return map[string]any{"tool_calls": []any{toolCall(fmt.Sprint("c", round), "count_events", `{"q":""}`)}}, 0
		})
		r = ask(t, acme.owner, map[string]any{"message": "how many events are there?"})
		if a, _ := r.body["answer"].(string); len(model.requests) != 6 || !strings.Contains(a, "did not finish") || len(r.list("events")) != 0 {
			t.Errorf("looping model: %d requests, answer %q", len(model.requests), a)
		}

		// A failing endpoint: the built-in engine answers, and says so.
		model.reset(func(int, []map[string]any) (map[string]any, int) { return nil, http.StatusInternalServerError })
		r = ask(t, acme.owner, map[string]any{"message": "how many failed logins yesterday?"})
		if a, _ := r.body["answer"].(string); !strings.HasPrefix(a, "The language model could not answer, so the built-in engine did. 3 matching events") || r.obj("query")["kind"] != "count" {
			t.Errorf("fallback answer %q %v", a, r.obj("query"))
		}
	})
}
