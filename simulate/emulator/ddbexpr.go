package emulator

import (
	"encoding/json"
	"fmt"
	"strings"
)

// keyCondition is one comparison of a KeyConditionExpression: name op value(s).
type keyCondition struct {
	name   string            // attribute name, placeholders resolved
	op     string            // "=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"
	values []json.RawMessage // one value, or two for BETWEEN
}

// maxExpressionLen bounds expressions (DynamoDB's limit is 4 KB).
const maxExpressionLen = 4096

// parseKeyConditionExpression parses the subset of DynamoDB's expression grammar a key
// condition allows:
//
//	condition  = comparison [ "AND" comparison ]
//	comparison = name ("=" | "<" | "<=" | ">" | ">=") value
//	           | name "BETWEEN" value "AND" value
//	           | "begins_with" "(" name "," value ")"
//
// where name is an attribute name or a #placeholder from names, and value a :placeholder from
// values. Keywords are case-insensitive. Errors read like DynamoDB's ValidationException text.
func parseKeyConditionExpression(expr string, names map[string]string, values map[string]json.RawMessage) ([]keyCondition, error) {
	if len(expr) > maxExpressionLen {
		return nil, fmt.Errorf("KeyConditionExpression is longer than %d bytes", maxExpressionLen)
	}
	toks, err := tokenizeExpression(expr)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks, names: names, values: values}
	var out []keyCondition
	for {
		c, err := p.comparison()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		if p.done() {
			break
		}
		if !p.keyword("AND") {
			return nil, fmt.Errorf("Invalid KeyConditionExpression: Syntax error; token: %q", p.peek())
		}
		if len(out) == 2 {
			return nil, fmt.Errorf("Invalid KeyConditionExpression: The expression can contain at most two conditions")
		}
	}
	return out, nil
}

// parseProjectionExpression returns the top-level attribute names of a ProjectionExpression
// ("a, #b, c"). Nested paths (a.b, a[0]) are not supported by the emulator.
func parseProjectionExpression(expr string, names map[string]string) ([]string, error) {
	if len(expr) > maxExpressionLen {
		return nil, fmt.Errorf("ProjectionExpression is longer than %d bytes", maxExpressionLen)
	}
	toks, err := tokenizeExpression(expr)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks, names: names}
	var out []string
	for {
		n, err := p.name()
		if err != nil {
			return nil, fmt.Errorf("Invalid ProjectionExpression: %v", err)
		}
		out = append(out, n)
		if p.done() {
			return out, nil
		}
		if p.next() != "," {
			return nil, fmt.Errorf("Invalid ProjectionExpression: nested attribute paths are not supported by the tollgate emulator")
		}
	}
}

// tokenizeExpression splits an expression into names, #placeholders, :placeholders, keywords
// and the punctuation = < <= > >= <> ( ) , . [ ].
func tokenizeExpression(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '<' || c == '>':
			if i+1 < len(s) && (s[i+1] == '=' || c == '<' && s[i+1] == '>') {
				toks = append(toks, s[i:i+2])
				i += 2
			} else {
				toks = append(toks, s[i:i+1])
				i++
			}
		case strings.IndexByte("=(),.[]", c) >= 0:
			toks = append(toks, s[i:i+1])
			i++
		case c == '#' || c == ':' || isNameByte(c):
			j := i + 1
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			if j == i+1 && !isNameByte(c) {
				return nil, fmt.Errorf("Invalid expression: Syntax error; token: %q", string(c))
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("Invalid expression: Syntax error; token: %q", string(c))
		}
	}
	return toks, nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

type exprParser struct {
	toks   []string
	pos    int
	names  map[string]string
	values map[string]json.RawMessage
}

func (p *exprParser) done() bool { return p.pos >= len(p.toks) }

func (p *exprParser) peek() string {
	if p.done() {
		return "<end>"
	}
	return p.toks[p.pos]
}

func (p *exprParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *exprParser) keyword(k string) bool {
	if !p.done() && strings.EqualFold(p.toks[p.pos], k) {
		p.pos++
		return true
	}
	return false
}

func (p *exprParser) expect(t string) error {
	if got := p.next(); got != t {
		return fmt.Errorf("Invalid KeyConditionExpression: Syntax error; expected %q, got %q", t, got)
	}
	return nil
}

// name reads an attribute name or resolves a #placeholder.
func (p *exprParser) name() (string, error) {
	t := p.next()
	switch {
	case t == "<end>":
		return "", fmt.Errorf("Syntax error; expected an attribute name at the end of the expression")
	case strings.HasPrefix(t, "#"):
		n, ok := p.names[t]
		if !ok {
			return "", fmt.Errorf("An expression attribute name used in the document path is not defined; attribute name: %s", t)
		}
		return n, nil
	case strings.HasPrefix(t, ":") || !isNameByte(t[0]):
		return "", fmt.Errorf("Syntax error; token: %q", t)
	}
	return t, nil
}

// value resolves a :placeholder.
func (p *exprParser) value() (json.RawMessage, error) {
	t := p.next()
	if !strings.HasPrefix(t, ":") {
		return nil, fmt.Errorf("Invalid KeyConditionExpression: Syntax error; expected a :value, got %q", t)
	}
	v, ok := p.values[t]
	if !ok {
		return nil, fmt.Errorf("Invalid KeyConditionExpression: An expression attribute value used in expression is not defined; attribute value: %s", t)
	}
	return v, nil
}

func (p *exprParser) comparison() (keyCondition, error) {
	if p.peek() == "begins_with" {
		p.next()
		if err := p.expect("("); err != nil {
			return keyCondition{}, err
		}
		n, err := p.name()
		if err != nil {
			return keyCondition{}, fmt.Errorf("Invalid KeyConditionExpression: %v", err)
		}
		if err := p.expect(","); err != nil {
			return keyCondition{}, err
		}
		v, err := p.value()
		if err != nil {
			return keyCondition{}, err
		}
		if err := p.expect(")"); err != nil {
			return keyCondition{}, err
		}
		return keyCondition{name: n, op: "begins_with", values: []json.RawMessage{v}}, nil
	}
	n, err := p.name()
	if err != nil {
		return keyCondition{}, fmt.Errorf("Invalid KeyConditionExpression: %v", err)
	}
	if p.keyword("BETWEEN") {
		lo, err := p.value()
		if err != nil {
			return keyCondition{}, err
		}
		if !p.keyword("AND") {
			return keyCondition{}, fmt.Errorf("Invalid KeyConditionExpression: Syntax error; expected AND, got %q", p.peek())
		}
		hi, err := p.value()
		if err != nil {
			return keyCondition{}, err
		}
		return keyCondition{name: n, op: "BETWEEN", values: []json.RawMessage{lo, hi}}, nil
	}
	op := p.next()
	switch op {
	case "=", "<", "<=", ">", ">=":
	default:
		return keyCondition{}, fmt.Errorf("Invalid KeyConditionExpression: Syntax error; unsupported operator %q for a key condition", op)
	}
	v, err := p.value()
	if err != nil {
		return keyCondition{}, err
	}
	return keyCondition{name: n, op: op, values: []json.RawMessage{v}}, nil
}
