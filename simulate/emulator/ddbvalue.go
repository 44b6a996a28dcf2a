package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// ddbItem is a DynamoDB item: attribute name → AttributeValue JSON, kept as received.
type ddbItem map[string]json.RawMessage

// size approximates DynamoDB's item size: attribute names plus their encoded values.
func (it ddbItem) size() int {
	n := 0
	for k, v := range it {
		n += len(k) + len(v)
	}
	return n
}

var attributeTypes = map[string]bool{
	"S": true, "N": true, "B": true, "BOOL": true, "NULL": true, "M": true, "L": true,
	"SS": true, "NS": true, "BS": true,
}

// validateItem checks that every attribute is an AttributeValue: an object with exactly one
// member whose name is a DynamoDB type. Nested values are kept as sent.
func validateItem(it ddbItem, what string) *apiError {
	for name, raw := range it {
		if name == "" {
			return ddbValidation("One or more parameter values were invalid: An attribute name in %s is empty", what)
		}
		var v map[string]json.RawMessage
		if err := json.Unmarshal(raw, &v); err != nil || len(v) != 1 {
			return ddbValidation("One or more parameter values were invalid: Supplied AttributeValue for %s.%s has %s",
				what, truncate(name, 64), "not exactly one of S, N, B, BOOL, NULL, M, L, SS, NS, BS")
		}
		for typ := range v {
			if !attributeTypes[typ] {
				return ddbValidation("One or more parameter values were invalid: Unknown AttributeValue type %q in %s.%s",
					truncate(typ, 16), what, truncate(name, 64))
			}
		}
	}
	return nil
}

// keyValue is a key attribute's value (type S, N or B), comparable and orderable.
type keyValue struct {
	typ byte     // 'S', 'N' or 'B'
	str string   // S: the string; B: the bytes; N: the canonical number
	num *big.Rat // N only
}

// canonical is the value's identity: numbers equal as numbers are the same key.
func (k keyValue) canonical() string { return string(k.typ) + ":" + k.str }

// compare orders values of the same type as DynamoDB does: numbers numerically, strings and
// binaries by their bytes.
func (k keyValue) compare(o keyValue) int {
	if k.typ == 'N' && o.typ == 'N' {
		return k.num.Cmp(o.num)
	}
	return strings.Compare(k.str, o.str)
}

// parseKeyValue decodes an AttributeValue that can be a key: {"S": "…"}, {"N": "…"} or {"B": "…"}.
func parseKeyValue(raw json.RawMessage) (keyValue, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 {
		return keyValue{}, fmt.Errorf("not an AttributeValue")
	}
	for typ, v := range m {
		var s string
		if typ != "S" && typ != "N" && typ != "B" || json.Unmarshal(v, &s) != nil {
			return keyValue{}, fmt.Errorf("key attributes must be of type S, N or B")
		}
		switch typ {
		case "S":
			if s == "" {
				return keyValue{}, fmt.Errorf("key attribute values must not be empty strings")
			}
			return keyValue{typ: 'S', str: s}, nil
		case "N":
			if !isDynamoDBNumber(s) {
				return keyValue{}, fmt.Errorf("invalid number %q", truncate(s, 40))
			}
			r, ok := new(big.Rat).SetString(s)
			if !ok {
				return keyValue{}, fmt.Errorf("invalid number %q", truncate(s, 40))
			}
			return keyValue{typ: 'N', str: r.RatString(), num: r}, nil
		default:
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil || len(b) == 0 {
				return keyValue{}, fmt.Errorf("binary key attribute values must be non-empty base64")
			}
			return keyValue{typ: 'B', str: string(b)}, nil
		}
	}
	return keyValue{}, fmt.Errorf("not an AttributeValue")
}

// isDynamoDBNumber accepts the number syntax DynamoDB accepts, with a bounded length and
// exponent (DynamoDB's range is about 1E-130 to 1E+126): an optional sign, digits with an
// optional fraction, and an optional exponent of at most three digits.
func isDynamoDBNumber(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	i := 0
	if s[i] == '+' || s[i] == '-' {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 || exp > 3 {
			return false
		}
	}
	return i == len(s)
}
