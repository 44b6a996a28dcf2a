package trace

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
)

// field identifies one field of the native format (JSON Lines keys and CSV columns).
type field uint8

const (
	fTime field = iota
	fService
	fOperation
	fRegion
	fResource
	fKey
	fOutcome
	fErrorCode
	fStatus
	fLatency
	fUnits
	fClient
	nFields
	fUnknown = nFields
)

// fieldNames are the native field names, in the order the writers emit them.
var fieldNames = [nFields]string{
	"time", "service", "operation", "region", "resource", "key",
	"outcome", "error_code", "status", "latency_ms", "units", "client",
}

// requiredFields must be present (non-null, non-empty) in every record.
const requiredFields = 1<<fTime | 1<<fService | 1<<fOperation | 1<<fOutcome

// lookupField maps a field name to its field, fUnknown if it is not one. Names are
// case-sensitive.
func lookupField(name []byte) field {
	switch string(name) {
	case "time":
		return fTime
	case "service":
		return fService
	case "operation":
		return fOperation
	case "region":
		return fRegion
	case "resource":
		return fResource
	case "key":
		return fKey
	case "outcome":
		return fOutcome
	case "error_code":
		return fErrorCode
	case "status":
		return fStatus
	case "latency_ms":
		return fLatency
	case "units":
		return fUnits
	case "client":
		return fClient
	}
	return fUnknown
}

// numeric reports whether the field holds a number (a JSON number, not a string).
func (f field) numeric() bool { return f == fStatus || f == fLatency || f == fUnits }

// isString reports whether the field holds a string (fUnknown does not).
func (f field) isString() bool { return f < fStatus || f == fClient }

func (f field) String() string {
	if f < nFields {
		return fieldNames[f]
	}
	return "?"
}

// Limits of the numeric fields.
const (
	maxStatus  = 999
	maxUnits   = math.MaxInt32
	maxLatency = time.Duration(math.MaxInt64)
)

// fieldDecoder sets Record fields from their native text, sharing strings between records.
// It is used by the JSON Lines and CSV readers.
type fieldDecoder struct {
	in   interner
	last [nFields]string // the previous value of each string field: the cheapest intern hit
	seen uint32          // bit f set when field f has a value in the current record
	// plain has bit f set when last[f] is known to be a plain JSON string's content (no quote,
	// backslash, control character or non-ASCII byte): the Reader's fast path sets it.
	plain uint32
	time  timeParser
}

// shared returns b as a string, reusing a recent value of field f (the interner's
// recentValues) or an interned copy.
func (d *fieldDecoder) shared(f field, b []byte) string {
	if last := d.last[f]; equalShort(b, last) {
		return last
	}
	d.plain &^= 1 << f
	d.in.ensure()
	var slot *string
	if f == fKey {
		slot = &d.in.recent.keys[quickHash(b)&(recentKeySlots-1)]
	} else {
		slot = &d.in.recent.fields[f][quickHash(b)&(recentSlots-1)]
	}
	if !equalShort(b, *slot) {
		*slot = d.in.bytes(b)
	}
	d.last[f] = *slot
	return *slot
}

// equalShort reports whether b and s hold the same bytes, comparing strings of 8 to 16 bytes
// as two overlapping words (without a call), others as usual.
func equalShort(b []byte, s string) bool {
	n := len(b)
	if n != len(s) {
		return false
	}
	if n >= 8 && n <= 16 {
		return binary.LittleEndian.Uint64(b) == le64(s) && binary.LittleEndian.Uint64(b[n-8:]) == le64(s[n-8:])
	}
	return string(b) == s
}

// quickHash hashes b's length and its first and last bytes (up to eight of each): a few
// instructions, and a good spread for the short values of a record's fields.
func quickHash(b []byte) uint64 {
	n := len(b)
	var w0, w1 uint64
	switch {
	case n >= 8:
		w0, w1 = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		w0, w1 = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		w0, w1 = uint64(b[0])|uint64(b[n/2])<<8, uint64(b[n-1])
	}
	h := (w0 ^ uint64(n)) * 0x9E3779B97F4A7C15
	h = (h ^ w1 ^ h>>29) * 0xBF58476D1CE4E5B9
	return h >> 40
}

// setString sets string field f from its decoded text; "" clears it. It returns the reason and
// error for a bad value.
func (d *fieldDecoder) setString(rec *Record, f field, b []byte) (string, error) {
	if len(b) == 0 {
		d.clear(rec, f)
		return "", nil
	}
	switch f {
	case fTime:
		t, ok := d.time.parse(b)
		if !ok {
			return ReasonBadTime, errorf("%q is not an RFC 3339 time", b)
		}
		if t.Before(minTime) || !t.Before(maxTime) {
			// A time near the ends of the range that its offset moves out of it in UTC.
			return ReasonBadTime, errorf("%q is outside years 0 to 9999 in UTC", b)
		}
		if t.IsZero() {
			return ReasonBadTime, errZeroTime(b)
		}
		rec.Time = t
	case fService:
		rec.Service = d.shared(f, b)
	case fOperation:
		rec.Operation = d.shared(f, b)
	case fRegion:
		rec.Region = d.shared(f, b)
	case fResource:
		rec.Resource = d.shared(f, b)
	case fKey:
		rec.Key = d.shared(f, b)
	case fOutcome:
		o, ok := parseOutcome(b)
		if !ok {
			return ReasonBadField, errorf("%q is not an outcome (success, throttled, transient, timeout, non_retryable)", b)
		}
		rec.Outcome = o
	case fErrorCode:
		rec.ErrorCode = d.shared(f, b)
	case fClient:
		rec.Client = d.shared(f, b)
	default:
		return ReasonBadField, errorf("want a number, got a string")
	}
	d.seen |= 1 << f
	return "", nil
}

// setShared sets string field f to its previous value d.last[f] (not empty), as setString
// does when given that value again.
func (d *fieldDecoder) setShared(rec *Record, f field) {
	v := d.last[f]
	switch f {
	case fService:
		rec.Service = v
	case fOperation:
		rec.Operation = v
	case fRegion:
		rec.Region = v
	case fResource:
		rec.Resource = v
	case fKey:
		rec.Key = v
	case fErrorCode:
		rec.ErrorCode = v
	case fClient:
		rec.Client = v
	default:
		panic("trace: setShared of a field that is not shared")
	}
	d.seen |= 1 << f
}

// setNumber sets numeric field f from the text of a JSON number (already checked against the
// JSON number grammar). It returns the reason and error for a bad value.
func (d *fieldDecoder) setNumber(rec *Record, f field, b []byte) (string, error) {
	switch f {
	case fStatus, fUnits:
		limit := int64(maxStatus)
		if f == fUnits {
			limit = maxUnits
		}
		n, ok := parseJSONInt(b, limit)
		if !ok {
			return ReasonBadField, errorf("%s is not an integer in [0, %d]", b, limit)
		}
		if f == fStatus {
			rec.Status = int(n)
		} else {
			rec.Units = int(n)
		}
	case fLatency:
		l, ok := parseMillis(b)
		if !ok {
			return ReasonBadField, errorf("%s is not a latency in milliseconds (>= 0)", b)
		}
		rec.Latency = l
	default:
		return ReasonBadField, errorf("want a string, got a number")
	}
	d.seen |= 1 << f
	return "", nil
}

// clear resets field f (a null or empty value).
func (d *fieldDecoder) clear(rec *Record, f field) {
	switch f {
	case fTime:
		rec.Time = time.Time{}
	case fService:
		rec.Service = ""
	case fOperation:
		rec.Operation = ""
	case fRegion:
		rec.Region = ""
	case fResource:
		rec.Resource = ""
	case fKey:
		rec.Key = ""
	case fOutcome:
		rec.Outcome = ""
	case fErrorCode:
		rec.ErrorCode = ""
	case fStatus:
		rec.Status = 0
	case fLatency:
		rec.Latency = 0
	case fUnits:
		rec.Units = 0
	case fClient:
		rec.Client = ""
	}
	d.seen &^= 1 << f
}

// missing returns the first required field without a value, or fUnknown.
func (d *fieldDecoder) missing() field {
	if d.seen&requiredFields == requiredFields {
		return fUnknown
	}
	for _, f := range [...]field{fTime, fService, fOperation, fOutcome} {
		if d.seen&(1<<f) == 0 {
			return f
		}
	}
	return fUnknown
}

// parseJSONInt parses a JSON number that must be an integer in [0, limit].
func parseJSONInt(b []byte, limit int64) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false // fraction or exponent
		}
		n = n*10 + int64(c-'0')
		if n > limit {
			return 0, false
		}
	}
	if neg && n != 0 {
		return 0, false
	}
	return n, len(b) > 0
}

// parseMillis parses a JSON number of milliseconds into a Duration, exactly for up to six
// fractional digits (nanosecond precision) and by rounding otherwise.
func parseMillis(b []byte) (time.Duration, bool) {
	if len(b) == 0 || b[0] == '-' {
		if len(b) > 1 && isNegativeZero(b) {
			return 0, true
		}
		return 0, false
	}
	const maxMs = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		ms = ms*10 + int64(b[i]-'0')
		if ms > maxMs {
			return 0, false
		}
	}
	var frac int64
	if i < len(b) && b[i] == '.' {
		i++
		scale := int64(100000)
		start := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if i-start >= 6 {
				return parseMillisSlow(b) // beyond nanoseconds: round
			}
			frac += int64(b[i]-'0') * scale
			scale /= 10
		}
	}
	if i != len(b) {
		return parseMillisSlow(b) // exponent
	}
	ns := ms * int64(time.Millisecond)
	if ns > math.MaxInt64-frac {
		return 0, false
	}
	return time.Duration(ns + frac), true
}

func isNegativeZero(b []byte) bool {
	v, err := strconv.ParseFloat(string(b), 64)
	return err == nil && v == 0
}

func parseMillisSlow(b []byte) (time.Duration, bool) {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || v < 0 || math.IsNaN(v) {
		return 0, false
	}
	ns := math.Round(v * float64(time.Millisecond))
	if ns >= float64(maxLatency) {
		return 0, false
	}
	return time.Duration(ns), true
}

// appendMillis appends d in milliseconds with up to six fractional digits (exact).
func appendMillis(b []byte, d time.Duration) []byte {
	ns := int64(d)
	b = strconv.AppendInt(b, ns/int64(time.Millisecond), 10)
	frac := ns % int64(time.Millisecond)
	if frac == 0 {
		return b
	}
	var digits [6]byte
	for i := 5; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 6
	for digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}
