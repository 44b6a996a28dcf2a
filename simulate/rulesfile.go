package simulate

import (
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate/tollgate/internal/boundedfile"
	"github.com/tollgate/tollgate/internal/yamlbound"
	"github.com/tollgate/tollgate/limiter"
)

// Bounds of a rules file read by LoadRules (and by scenarios): its size, and the YAML nodes it
// stands for once its aliases are expanded. AWS's whole quota table takes a few hundred nodes.
const (
	MaxRulesFileBytes = 1 << 20
	MaxRulesNodes     = 100_000
)

// ruleFields are the keys of a limiter rule (limiter's rules file format).
var ruleFields = []string{"name", "service", "operation", "region", "rate", "burst", "cost", "partition", "scope", "charge", "source"}

// rulesFile is a limiter rules file as read by loadRulesFile: its rules and the line of each
// rule's fields, for errors that name them.
type rulesFile struct {
	path  string
	rules limiter.Rules
	lines []map[string]int // per rule, in file order: field → line
	at    []int            // per rule: the line it starts on
}

// line returns the line of the field of the file's rule named name (the rule's own line if
// the field was not given), 0 if the file has no such rule.
func (f *rulesFile) line(name, field string) int {
	if f == nil {
		return 0
	}
	for i, r := range f.rules {
		if r.DisplayName() != name || i >= len(f.lines) {
			continue
		}
		if l, ok := f.lines[i][field]; ok {
			return l
		}
		return f.at[i]
	}
	return 0
}

// LoadRules reads a limiter rules file (the format of limiter.LoadRules, whose errors it
// returns) with the bounds a file named by a user needs: a file larger than MaxRulesFileBytes,
// or whose YAML aliases expand it past MaxRulesNodes nodes, is refused; and until the file is
// known to be a rules file (a mapping with a "rules" key, or a list of rule mappings) errors
// quote nothing from it, so that naming the wrong file — a key file, a password file — never
// prints its content. Use it (or ReplayOptions.RulesFile) rather than limiter.LoadRules for
// files that come from the command line.
func LoadRules(path string) (limiter.Rules, error) {
	f, err := loadRulesFile(path)
	if err != nil {
		return nil, err
	}
	return f.rules, nil
}

func loadRulesFile(path string) (*rulesFile, error) {
	data, err := boundedfile.Read(path, MaxRulesFileBytes, "rules")
	if err != nil {
		return nil, fmt.Errorf("simulate: read rules: %w", err)
	}
	return parseRulesFile(path, data)
}

// parseRulesFile checks that data is a bounded rules file and parses it with limiter.ParseRules.
func parseRulesFile(name string, data []byte) (*rulesFile, error) {
	if len(data) > MaxRulesFileBytes {
		return nil, fmt.Errorf("simulate: %s: larger than %d bytes: not a rules file", name, MaxRulesFileBytes)
	}
	root, line, err := yamlbound.Decode(data)
	if err == io.EOF {
		return nil, fmt.Errorf("simulate: %s: empty rules file", name)
	}
	if err != nil {
		if line > 0 {
			return nil, fmt.Errorf("simulate: %s:%d: %v", name, line, err)
		}
		return nil, fmt.Errorf("simulate: %s: %v", name, err)
	}
	list := rulesList(root)
	if list == nil {
		return nil, fmt.Errorf(`simulate: %s:%d: not a limiter rules file: expected a mapping with a "rules" list, or a list of rules`, name, root.Line)
	}
	if _, line, ok := yamlbound.Expanded(root, MaxRulesNodes); !ok {
		return nil, fmt.Errorf("simulate: %s:%d: YAML aliases expand the file to more than %d nodes; write the rules out", name, line, MaxRulesNodes)
	}
	rules, err := limiter.ParseRules(name, data)
	if err != nil {
		return nil, err
	}
	f := &rulesFile{path: name, rules: rules}
	for _, n := range list.Content {
		n = resolveNode(n)
		lines := map[string]int{}
		for j := 0; n != nil && n.Kind == yaml.MappingNode && j+1 < len(n.Content); j += 2 {
			lines[n.Content[j].Value] = n.Content[j].Line
		}
		line := 0
		if n != nil {
			line = n.Line
		}
		f.lines, f.at = append(f.lines, lines), append(f.at, line)
	}
	return f, nil
}

// rulesList returns the list of rules of a document that is a rules file, nil for any other
// document: a mapping with a "rules" key (its value, or an empty list), or a list whose items
// include a mapping with a rule's field.
func rulesList(root *yaml.Node) *yaml.Node {
	root = resolveNode(root)
	switch {
	case root == nil:
		return nil
	case root.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "rules" {
				if v := resolveNode(root.Content[i+1]); v != nil && v.Kind == yaml.SequenceNode {
					return v
				}
				return &yaml.Node{Kind: yaml.SequenceNode}
			}
		}
	case root.Kind == yaml.SequenceNode:
		for _, n := range root.Content {
			n = resolveNode(n)
			for j := 0; n != nil && n.Kind == yaml.MappingNode && j+1 < len(n.Content); j += 2 {
				if contains(ruleFields, n.Content[j].Value) {
					return root
				}
			}
		}
	}
	return nil
}

// resolveNode follows aliases (a bounded number of them: a cycle cannot loop).
func resolveNode(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}
