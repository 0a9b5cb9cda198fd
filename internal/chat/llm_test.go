package chat

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestLLMKey checks what the model's endpoint is sent as credentials:
// CHAT_LLM_API_KEY when set, and nothing otherwise, even with
// OPENAI_API_KEY in the environment (a key for another endpoint).
func TestLLMKey(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-not-for-this-endpoint")
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "created": 1, "model": "m",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "No tools needed."}}}})
	}))
	defer srv.Close()
	for _, tt := range []struct{ key, want string }{{"", ""}, {"local-key", "Bearer local-key"}} {
		got = nil
		a, err := NewLLM(srv.URL, "m", tt.key, nil).Answer(t.Context(), nil, nil, nil, "hello", time.Now(), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != tt.want || a.Text != "No tools needed." || a.Plan.Kind != KindModel {
			t.Errorf("key %q: Authorization %q, answer %q; want %q", tt.key, got, a.Text, tt.want)
		}
	}
}

// TestLLMEndpoint runs the chat-completions client against a scripted
// endpoint: the path under the base URL, the messages sent back after a
// tool call, one retry on 429 and 5xx (after a short Retry-After, none
// after a long one), no retry on other errors, and the errors of
// malformed responses.
func TestLLMEndpoint(t *testing.T) {
	final := `{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Done."}}]}`
	withCall := `{"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","function":{"name":"no_such_tool","arguments":"{}"}}]}}]}`
	type reply struct {
		status     int
		retryAfter string
		body       string
	}
	for _, tt := range []struct {
		name     string
		base     string
		replies  []reply
		requests int
		errText  string // empty: the answer is "Done."
	}{
		{"trailing slash", "/v1/", []reply{{200, "", final}}, 1, ""},
		{"tool call round", "/v1", []reply{{200, "", withCall}, {200, "", final}}, 2, ""},
		{"429 then success", "/v1", []reply{{429, "0", `{"error":{"message":"slow down"}}`}, {200, "", final}}, 2, ""},
		{"503 twice", "/v1", []reply{{503, "", `{"error":{"message":"overloaded"}}`}, {503, "", `{"error":{"message":"overloaded"}}`}}, 2, "status 503: overloaded"},
		{"long Retry-After", "/v1", []reply{{429, "3600", `{"error":{"message":"quota"}}`}}, 1, "status 429: quota"},
		{"400 not retried", "/v1", []reply{{400, "", "bad\nrequest"}}, 1, "status 400: bad request"},
		{"malformed response", "/v1", []reply{{200, "", `{"choices":`}}, 1, "decode response"},
		{"no choices", "/v1", []reply{{200, "", `{"choices":[]}`}}, 1, "without choices"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var reqs []map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
				}
				var req map[string]any
				if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
					t.Error(err)
				}
				reqs = append(reqs, req)
				rp := tt.replies[min(len(reqs), len(tt.replies))-1]
				if rp.retryAfter != "" {
					w.Header().Set("Retry-After", rp.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(rp.status)
				w.Write([]byte(rp.body))
			}))
			defer srv.Close()
			a, err := NewLLM(srv.URL+tt.base, "m", "", nil).Answer(t.Context(), nil, nil, nil, "hello", time.Now(), time.UTC)
			if len(reqs) != tt.requests {
				t.Errorf("%d requests; want %d", len(reqs), tt.requests)
			}
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("error %v; want one with %q", err, tt.errText)
				}
				return
			}
			if err != nil || a.Text != "Done." {
				t.Fatalf("answer %v, error %v", a, err)
			}
			first := reqs[0]
			tools, _ := first["tools"].([]any)
			if first["model"] != "m" || len(tools) != len(toolDefs) || tools[0].(map[string]any)["type"] != "function" {
				t.Errorf("request %v", first)
			}
			if tt.name == "tool call round" {
				// system, user, the assistant's call without content, the tool's result.
				msgs := reqs[1]["messages"].([]any)
				am, tm := msgs[2].(map[string]any), msgs[3].(map[string]any)
				_, hasContent := am["content"]
				tc := am["tool_calls"].([]any)[0].(map[string]any)
				if len(msgs) != 4 || am["role"] != "assistant" || hasContent || tc["type"] != "function" || tc["id"] != "c1" ||
					tm["role"] != "tool" || tm["tool_call_id"] != "c1" || !strings.Contains(tm["content"].(string), "there is no tool") {
					t.Errorf("second request's messages %v", msgs)
				}
			}
		})
	}
}

// TestRetryAfter checks the waits a Retry-After header gives.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		h    string
		want time.Duration
	}{
		{"", retryDelay}, {"junk", retryDelay}, {"0", 0}, {"2", 2 * time.Second}, {"11", -1},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second}, {now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(time.Hour).Format(http.TimeFormat), -1},
	} {
		if got := retryAfter(tt.h, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v; want %v", tt.h, got, tt.want)
		}
	}
}
