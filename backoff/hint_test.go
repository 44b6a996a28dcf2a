package backoff

import (
	"testing"
	"time"
)

func TestParseAmzRetryAfter(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1500", 1500 * time.Millisecond, true},
		{"0", 0, true},
		{" 250 ", 250 * time.Millisecond, true},
		{"86400000", 24 * time.Hour, true},
		{"86400001", 0, false},                      // absurd: above MaxHint
		{"99999999999999999999999999", 0, false},    // huge
		{"-5", 0, false},                            // negative
		{"+5", 0, false},                            // sign
		{"1.5", 0, false},                           // not an integer
		{"", 0, false},                              // empty
		{"abc", 0, false},                           // garbage
		{"Fri, 14 Mar 2025 09:26:53 GMT", 0, false}, // a date is not milliseconds
	}
	for _, c := range cases {
		got, ok := ParseAmzRetryAfter(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseAmzRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{"86401", 0, false}, // absurd
		{"18446744073709551616", 0, false},
		{"-1", 0, false},
		{"1e3", 0, false},
		{"soon", 0, false},
		{"Fri, 14 Mar 2025 09:27:03 GMT", 10 * time.Second, true}, // IMF-fixdate
		{"Friday, 14-Mar-25 09:27:53 GMT", time.Minute, true},     // RFC 850
		{"Fri Mar 14 09:26:58 2025", 5 * time.Second, true},       // asctime
		{"Fri, 14 Mar 2025 09:20:00 GMT", 0, true},                // in the past: now
		{"Sat, 14 Mar 2099 09:27:03 GMT", 0, false},               // absurd
		{"Fri, 32 Mar 2025 09:27:03 GMT", 0, false},               // invalid date
		{"Fri, 14 Mar 2025 09:27:03 GMT garbage", 0, false},       // trailing garbage
	}
	for _, c := range cases {
		got, ok := ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestHintsPreferAmz(t *testing.T) {
	now := time.Unix(0, 0)
	if d, ok := (Hints{AmzRetryAfter: "700", RetryAfter: "3"}).Delay(now); !ok || d != 700*time.Millisecond {
		t.Errorf("both headers: %v %v, want x-amz-retry-after's 700ms", d, ok)
	}
	if d, ok := (Hints{AmzRetryAfter: "junk", RetryAfter: "3"}).Delay(now); !ok || d != 3*time.Second {
		t.Errorf("bad x-amz-retry-after: %v %v, want Retry-After's 3s", d, ok)
	}
	if _, ok := (Hints{}).Delay(now); ok {
		t.Error("no headers gave a hint")
	}
}

func TestClampHint(t *testing.T) {
	s := time.Second
	cases := []struct{ backoff, hint, extra, want time.Duration }{
		{s, 500 * time.Millisecond, 5 * s, s}, // never shorter than the backoff
		{s, 3 * s, 5 * s, 3 * s},              // within the window
		{s, 60 * s, 5 * s, 6 * s},             // at most backoff + extra
		{s, 60 * s, 0, s},                     // no extra allowed
		{s, 60 * s, -1, s},                    // negative extra is none
		{2 * s, 2 * s, 5 * s, 2 * s},          // equal
	}
	for _, c := range cases {
		if got := ClampHint(c.backoff, c.hint, c.extra); got != c.want {
			t.Errorf("ClampHint(%v, %v, %v) = %v, want %v", c.backoff, c.hint, c.extra, got, c.want)
		}
	}
}

// FuzzParseRetryAfter checks that no header value makes the parsers panic or return a delay
// outside [0, MaxHint], and that a value parsed as milliseconds round-trips.
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d, ok := ParseAmzRetryAfter(v); ok {
			if d < 0 || d > MaxHint {
				t.Fatalf("ParseAmzRetryAfter(%q) = %v", v, d)
			}
		} else if d != 0 {
			t.Fatalf("ParseAmzRetryAfter(%q) rejected but returned %v", v, d)
		}
		if d, ok := ParseRetryAfter(v, now); ok {
			if d < 0 || d > MaxHint {
				t.Fatalf("ParseRetryAfter(%q) = %v", v, d)
			}
		} else if d != 0 {
			t.Fatalf("ParseRetryAfter(%q) rejected but returned %v", v, d)
		}
	})
}
