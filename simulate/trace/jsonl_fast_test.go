package trace

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// checkSameAsGeneral reads line with the general parser only and checks that it gives the
// record (or the error) got, which the fast path may have decoded.
func checkSameAsGeneral(t *testing.T, line []byte, got *Record, gotErr error) {
	t.Helper()
	checkSameAs(t, NewReader(nil, "line"), line, got, gotErr)
}

// checkSameAs is checkSameAsGeneral with a general reader to reuse.
func checkSameAs(t *testing.T, r *Reader, line []byte, got *Record, gotErr error) {
	t.Helper()
	r.Reset(bytes.NewReader(line), "line")
	r.noFast = true
	var want Record
	wantErr := r.Read(&want)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("%q: error %v, the general parser says %v", line, gotErr, wantErr)
	}
	if gotErr == nil && *got != want {
		t.Fatalf("%q: decoded as\n%#v\nthe general parser gives\n%#v", line, *got, want)
	}
}

// The fast path decodes exactly what the general parser decodes, line for line, on what the
// Writer writes and on variations of it that the fast path must leave to the general parser:
// whitespace, other field orders, duplicates, escapes, non-ASCII, nulls, empty strings, unknown
// fields, numbers written otherwise, times with offsets or lower-case letters, and damage.
func TestParseFastMatchesParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	recs := genRecords(2000, 3)
	for i := range recs {
		switch i % 7 {
		case 0:
			recs[i].Key = "p" + fmt.Sprint(i%13) + "/k"
		case 1:
			recs[i].Units, recs[i].Client = 3, ""
		case 2:
			recs[i].Time = recs[i].Time.Truncate(time.Second)
		}
	}
	lines := bytes.Split(bytes.TrimSpace(encodeJSONL(recs)), []byte("\n"))
	mutations := []func(string) string{
		func(s string) string { return s },
		func(s string) string { return strings.Replace(s, `,"`, `, "`, 1) },
		func(s string) string { return strings.Replace(s, `":`, `" :`, 2) },
		func(s string) string { return strings.Replace(s, `"service":`, `"x":1,"service":`, 1) },
		func(s string) string { return strings.Replace(s, `}`, `,"service":"S3"}`, 1) },
		func(s string) string { return strings.Replace(s, `}`, `,"time":"2025-01-01T00:00:00Z"}`, 1) },
		func(s string) string { return strings.Replace(s, `"operation":"`, `"operation":"\u0041`, 1) },
		func(s string) string { return strings.Replace(s, `"region":"`, `"region":"é`, 1) },
		func(s string) string { return strings.Replace(s, `"region":"us-east-1"`, `"region":""`, 1) },
		func(s string) string { return strings.Replace(s, `"region":"us-east-1"`, `"region":null`, 1) },
		func(s string) string { return strings.Replace(s, `"status":200`, `"status":2e2`, 1) },
		func(s string) string { return strings.Replace(s, `"status":200`, `"status":"200"`, 1) },
		func(s string) string { return strings.Replace(s, `"latency_ms":`, `"latency_ms":-`, 1) },
		func(s string) string { return strings.Replace(s, `Z"`, `+01:00"`, 1) },
		func(s string) string { return strings.Replace(s, `Z"`, `z"`, 1) },
		func(s string) string { return strings.Replace(s, `T`, `t`, 1) },
		func(s string) string { return strings.Replace(s, `:53.`, `:60.`, 1) },
		func(s string) string { return strings.Replace(s, `"outcome":"success"`, `"outcome":"fine"`, 1) },
		func(s string) string { return strings.Replace(s, `"outcome":"success",`, ``, 1) },
		func(s string) string { return s[:len(s)-1] },
		func(s string) string { return s + "x" },
		func(s string) string { return strings.Replace(s, `"client"`, `"clientx"`, 1) },
		func(s string) string { return strings.Replace(s, `"units":`, `"units":0`, 1) },
		func(s string) string { return strings.Replace(s, `.`, `.1234567891`, 1) },
		func(s string) string { return strings.Replace(s, `.`, ``, 1) },
		func(s string) string { b := []byte(s); b[rng.IntN(len(b))] = byte(rng.IntN(256)); return string(b) },
		func(s string) string { i := rng.IntN(len(s)); return s[:i] + s[i+1:] },
	}
	// One reader across all lines, so that its caches (shared strings, the last minute and
	// second) carry over from line to line as in a real trace.
	var in bytes.Buffer
	var want [][]byte
	for i, line := range lines {
		for k, m := range mutations {
			if (i+k)%5 != 0 && k != 0 {
				continue
			}
			l := m(string(line))
			if strings.ContainsRune(l, '\n') || strings.TrimSpace(l) == "" {
				continue
			}
			in.WriteString(l + "\n")
			want = append(want, []byte(l))
		}
	}
	r, general := NewReader(&in, "line"), NewReader(nil, "line")
	for _, line := range want {
		var rec Record
		err := r.Read(&rec)
		if ie, ok := err.(*InputError); ok {
			ie.Line = 1 // checkSameAs reads the line alone
		}
		checkSameAs(t, general, line, &rec, err)
	}
}

// A timeParser that has seen earlier times (the same minute, the same second) parses each time
// exactly as parseRFC3339 does: same validity, same value (wall clock words and location).
func TestTimeParserCachesMatchParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var tp timeParser
	minutes := []string{"2025-03-14T09:26", "2025-03-14T09:27", "2024-02-29T23:59", "9999-12-31T23:59"}
	secs := []string{"00", "05", "53", "59", "60", "5a"}
	fracs := []string{"", ".", ".1", ".000319", ".123456789", ".1234567891234", ".12x"}
	zones := []string{"Z", "z", "+01:00", "-23:59", "+24:00", "", "Zz", "+0100"}
	for i := 0; i < 200000; i++ {
		s := minutes[rng.IntN(len(minutes))] + ":" + secs[rng.IntN(len(secs))] + fracs[rng.IntN(len(fracs))] + zones[rng.IntN(len(zones))]
		if rng.IntN(50) == 0 {
			s = s[:rng.IntN(len(s))]
		}
		want, wantOK := parseRFC3339([]byte(s))
		got, ok := tp.parse([]byte(s))
		if ok != wantOK || got != want {
			t.Fatalf("%q: timeParser gives %v %v, parseRFC3339 %v %v", s, got, ok, want, wantOK)
		}
	}
}

// eightDigits reads eight ASCII digits, and refuses every other byte in every place.
func TestEightDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 200000; i++ {
		var b [8]byte
		want, ok := uint64(0), true
		for k := range b {
			b[k] = byte('0' + rng.IntN(10))
			if rng.IntN(40) == 0 {
				b[k] = byte(rng.IntN(256))
			}
			if b[k] < '0' || b[k] > '9' {
				ok = false
			}
			want = want*10 + uint64(b[k]-'0')
		}
		got, gotOK := eightDigits(binary.LittleEndian.Uint64(b[:]))
		if gotOK != ok || (ok && got != want) {
			t.Fatalf("%q: eightDigits = %d %v, want %d %v", b, got, gotOK, want, ok)
		}
	}
}

// A value decoded from escapes is not taken for the next line's bytes: `a\"b` decodes to a"b,
// and a later `"a"b"` is not that value but a malformed line.
func TestParseFastPreviousValueWithQuote(t *testing.T) {
	lines := []string{
		`{"time":"2025-03-14T09:26:53Z","service":"S3","operation":"GetObject","outcome":"success","client":"a\"b"}`,
		`{"time":"2025-03-14T09:26:54Z","service":"S3","operation":"GetObject","outcome":"success","client":"a"b"}`,
		`{"time":"2025-03-14T09:26:55Z","service":"S3","operation":"GetObject","outcome":"success","client":"ab"}`,
		`{"time":"2025-03-14T09:26:56Z","service":"S3","operation":"GetObject","outcome":"success","client":"ab"}`,
	}
	r := NewReader(strings.NewReader(strings.Join(lines, "\n")), "line")
	for _, l := range lines {
		var rec Record
		err := r.Read(&rec)
		if ie, ok := err.(*InputError); ok {
			ie.Line = 1
		}
		checkSameAsGeneral(t, []byte(l), &rec, err)
	}
}
