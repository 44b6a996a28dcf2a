package limiter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/boundedfile"
	"go.yaml.in/yaml/v3"
)

// ruleFields are the keys a rule mapping may have, in documentation order.
var ruleFields = []string{"name", "service", "operation", "region", "rate", "burst", "cost", "partition", "scope", "charge", "adaptive", "source"}

// MaxRulesFileBytes bounds the size of a rules file LoadRules reads. AWS's whole quota table
// takes a few kilobytes.
const MaxRulesFileBytes = 1 << 20

// LoadRules reads and validates a rules file (YAML or JSON; see the package documentation for
// the format). Errors name the file, line, rule and field. The file must be a regular file of
// at most MaxRulesFileBytes: a device, a pipe or a directory named by mistake (/dev/zero never
// ends) is refused before it is read.
func LoadRules(path string) (Rules, error) {
	b, err := boundedfile.Read(path, MaxRulesFileBytes, "rules")
	if err != nil {
		return nil, fmt.Errorf("limiter: read rules: %w", err)
	}
	return ParseRules(path, b)
}

// ParseRules parses and validates rules from data, a YAML or JSON document; name is used in
// error messages. The document is either a mapping with a "rules" list or the list itself.
// Every problem found is reported (joined with [errors.Join]) as a *[RuleError], e.g.
//
//	limiter: rules.yaml:12: rule "ec2-describe": field "burst": must be > 0
func ParseRules(name string, data []byte) (Rules, error) {
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}
	p := &parser{file: name}
	items := p.rulesList(root)
	if p.errs != nil {
		return nil, errors.Join(p.errs...)
	}
	rs := make(Rules, 0, len(items))
	names := map[string]int{}
	for i, it := range items {
		for _, pr := range it.rule.problems() {
			p.add(it.line(pr.field), ruleLabel(it.rule, i), pr.field, pr.msg)
		}
		if it.explicitZeroCost {
			p.add(it.line("cost"), ruleLabel(it.rule, i), "cost", "must be > 0")
		}
		dn := it.rule.DisplayName()
		if first, dup := names[dn]; dup {
			p.add(it.line("name"), ruleLabel(it.rule, i), "name",
				fmt.Sprintf("duplicate rule name (first used at line %d)", first))
		} else {
			names[dn] = it.line("name")
		}
		rs = append(rs, it.rule)
	}
	if p.errs != nil {
		return nil, errors.Join(p.errs...)
	}
	return rs, nil
}

// parseYAML decodes exactly one YAML document into a node tree.
func parseYAML(name string, data []byte) (root *yaml.Node, err error) {
	defer func() {
		// The YAML library should not panic on any input; if it ever does, report bad input
		// instead of crashing the caller.
		if r := recover(); r != nil {
			root, err = nil, &RuleError{File: name, Msg: fmt.Sprintf("invalid YAML: parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &RuleError{File: name, Msg: "empty rules file"}
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(name, err)
		}
		return nil, &RuleError{File: name, Line: extra.Line, Msg: "more than one YAML document; put all rules in one"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &RuleError{File: name, Msg: "empty rules file"}
	}
	return doc.Content[0], nil
}

// yamlError turns a yaml library error ("yaml: line 3: did not find expected key") into a
// *RuleError with the line split out.
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				line, msg = n, tail
			}
		}
	}
	return &RuleError{File: name, Line: line, Msg: "invalid YAML: " + msg}
}

// parser collects errors while walking a rules document.
type parser struct {
	file string
	errs []error
}

func (p *parser) add(line int, rule, field, msg string) {
	p.errs = append(p.errs, &RuleError{File: p.file, Line: line, Rule: rule, Field: field, Msg: msg})
}

// parsedRule is a rule with the line of each field it was given.
type parsedRule struct {
	rule             Rule
	ruleLine         int
	lines            map[string]int
	explicitZeroCost bool
}

// line returns the line of field, or of the rule when the field was not given.
func (it *parsedRule) line(field string) int {
	if l, ok := it.lines[field]; ok {
		return l
	}
	return it.ruleLine
}

// resolve follows alias nodes (bounded, so a cycle cannot loop).
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// rulesList finds the list of rules in the document root.
func (p *parser) rulesList(root *yaml.Node) []*parsedRule {
	root = resolve(root)
	var list *yaml.Node
	switch {
	case root == nil:
		p.add(0, "", "", "empty rules file")
		return nil
	case root.Kind == yaml.SequenceNode:
		list = root
	case root.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], resolve(root.Content[i+1])
			if k.Value != "rules" {
				p.add(k.Line, "", "", fmt.Sprintf("unknown top-level key %q (want \"rules\")", k.Value))
				continue
			}
			if list != nil {
				p.add(k.Line, "", "", `"rules" given twice`)
				continue
			}
			if v == nil || v.Kind != yaml.SequenceNode {
				if v != nil && v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
					list = &yaml.Node{Kind: yaml.SequenceNode}
					continue
				}
				p.add(k.Line, "", "", `"rules" must be a list of rules`)
				return nil
			}
			list = v
		}
		if list == nil {
			if len(p.errs) == 0 {
				p.add(root.Line, "", "", `no "rules" list`)
			}
			return nil
		}
	case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
		p.add(root.Line, "", "", "empty rules file")
		return nil
	default:
		p.add(root.Line, "", "", `the document must be a mapping with a "rules" list, or a list of rules`)
		return nil
	}
	items := make([]*parsedRule, 0, len(list.Content))
	for i, n := range list.Content {
		if it := p.rule(i, resolve(n)); it != nil {
			items = append(items, it)
		}
	}
	return items
}

// rule decodes the i-th rule mapping.
func (p *parser) rule(i int, n *yaml.Node) *parsedRule {
	label := fmt.Sprintf("#%d", i+1)
	if n == nil || n.Kind != yaml.MappingNode {
		line := 0
		if n != nil {
			line = n.Line
		}
		p.add(line, label, "", "must be a mapping of fields")
		return nil
	}
	// Find the name first so every error about this rule can use it.
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == "name" {
			if v := resolve(n.Content[j+1]); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
				label = v.Value
			}
		}
	}
	it := &parsedRule{ruleLine: n.Line, lines: map[string]int{}}
	r := &it.rule
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], resolve(n.Content[j+1])
		field := k.Value
		if !isRuleField(field) {
			p.add(k.Line, label, field, "unknown field (known fields: "+strings.Join(ruleFields, ", ")+")")
			continue
		}
		if _, dup := it.lines[field]; dup {
			p.add(k.Line, label, field, "given twice")
			continue
		}
		it.lines[field] = k.Line
		if v == nil || v.Kind != yaml.ScalarNode {
			p.add(k.Line, label, field, "must be a single value, not a list or mapping")
			continue
		}
		if v.Tag == "!!null" {
			continue // "field:" with no value: the default
		}
		switch field {
		case "name":
			r.Name = v.Value
		case "service":
			r.Service = v.Value
		case "operation":
			r.Operation = v.Value
		case "region":
			r.Region = v.Value
		case "source":
			r.Source = v.Value
		case "rate":
			if !isNumber(v) {
				p.add(k.Line, label, field, fmt.Sprintf("must be a number of tokens per second, not %q", v.Value))
				continue
			}
			if err := v.Decode(&r.Rate); err != nil {
				p.add(k.Line, label, field, fmt.Sprintf("must be a number, not %q", v.Value))
			}
		case "burst", "cost":
			var f float64
			if !isNumber(v) || v.Decode(&f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				p.add(k.Line, label, field, fmt.Sprintf("must be a whole number, not %q", v.Value))
				continue
			}
			x := int(f)
			if field == "burst" {
				r.Burst = x
			} else {
				r.Cost = x
				it.explicitZeroCost = x == 0
			}
		case "partition":
			x, ok := parseEnum(partitionNames[:], v.Value)
			if !ok {
				p.add(k.Line, label, field, fmt.Sprintf("unknown partition scheme %q (want none, resource or prefix)", v.Value))
				continue
			}
			r.Partition = Partition(x)
		case "scope":
			x, ok := parseEnum(scopeNames[:], v.Value)
			if !ok {
				p.add(k.Line, label, field, fmt.Sprintf("unknown scope %q (want operation or shared)", v.Value))
				continue
			}
			r.Scope = Scope(x)
		case "charge":
			x, ok := parseEnum(chargeNames[:], v.Value)
			if !ok {
				p.add(k.Line, label, field, fmt.Sprintf("unknown charge %q (want calls or units)", v.Value))
				continue
			}
			r.Charge = Charge(x)
		case "adaptive":
			on, ok := parseBool(v)
			if !ok {
				p.add(k.Line, label, field, fmt.Sprintf("must be true or false, not %q", v.Value))
				continue
			}
			r.NonAdaptive = !on
		}
	}
	return it
}

func isRuleField(f string) bool {
	for _, k := range ruleFields {
		if f == k {
			return true
		}
	}
	return false
}

// parseBool reads an unquoted YAML/JSON boolean (true, false, in any case; YAML 1.1's yes/no
// and on/off are refused: they are too easy to write by mistake).
func parseBool(v *yaml.Node) (value, ok bool) {
	if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 || v.Tag != "!!bool" {
		return false, false
	}
	switch strings.ToLower(v.Value) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// isNumber reports whether a scalar node is an unquoted YAML/JSON number.
func isNumber(v *yaml.Node) bool {
	return v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 && (v.Tag == "!!int" || v.Tag == "!!float")
}
