// Package yamlbound bounds the work a YAML document can make its reader do, and reports YAML
// syntax errors without quoting the document.
//
// A YAML alias (*name) stands for a whole subtree, so a few hundred bytes of aliases to aliases
// ("billion laughs") stand for billions of nodes: a reader that walks the tree, following
// aliases, does that much work and builds that many values. Expanded counts the nodes a walk
// that follows every alias visits, without making that walk, so a reader can refuse a document
// before it starts.
package yamlbound

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Expanded returns how many nodes a walk of root that follows every alias visits, stopping as
// soon as the count exceeds limit. When it does, ok is false and line is the line of the
// alias (or, failing one, the node) whose expansion crossed the limit. A cyclic alias counts as
// exceeding any limit. The cost is linear in the document's own size.
func Expanded(root *yaml.Node, limit int64) (n int64, line int, ok bool) {
	c := counter{limit: limit, memo: map[*yaml.Node]int64{}}
	n = c.size(root)
	if c.over {
		return n, c.line, false
	}
	return n, 0, true
}

type counter struct {
	limit int64
	memo  map[*yaml.Node]int64 // expanded size of each node walked; -1 while in progress
	over  bool
	line  int
}

func (c *counter) size(n *yaml.Node) int64 {
	if n == nil || c.over {
		return 0
	}
	if s, ok := c.memo[n]; ok {
		if s < 0 { // a node that contains itself
			c.fail(n)
			return c.limit + 1
		}
		return s
	}
	c.memo[n] = -1
	total := int64(1)
	if n.Kind == yaml.AliasNode {
		total += c.size(n.Alias)
	}
	for _, ch := range n.Content {
		total += c.size(ch)
		if total > c.limit {
			break
		}
	}
	if total > c.limit {
		c.fail(n)
	}
	c.memo[n] = total
	return total
}

// fail records the first node found over the limit: the innermost, normally an alias.
func (c *counter) fail(n *yaml.Node) {
	if !c.over {
		c.over, c.line = true, n.Line
	}
}

// Decode decodes exactly the first document of data into a node tree. A syntax error comes
// back as (line, message) without any text quoted from data (see Syntax); an empty document
// gives io.EOF.
func Decode(data []byte) (root *yaml.Node, line int, err error) {
	defer func() {
		// The YAML library should not panic on any input; if it does, it is bad input.
		if r := recover(); r != nil {
			root, line, err = nil, 0, errors.New("invalid YAML: the parser failed")
		}
	}()
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, io.EOF
		}
		line, msg := Syntax(err)
		return nil, line, errors.New("invalid YAML: " + msg)
	}
	if len(doc.Content) == 0 {
		return nil, 0, io.EOF
	}
	return doc.Content[0], 0, nil
}

// quoted matches text the YAML library quotes from the document ('x', `x` or "x").
var quoted = regexp.MustCompile("'[^']*'|`[^`]*`|\"[^\"]*\"")

// Syntax splits a YAML library error ("yaml: line 3: did not find expected key") into its line
// (0 if none) and message, with anything the library quoted from the document (an anchor name,
// a scalar) replaced by "…": a file named by mistake — a key file, a password file — must not
// see its content printed in an error.
func Syntax(err error) (line int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				line, msg = n, tail
			}
		}
	}
	return line, quoted.ReplaceAllString(msg, "…")
}
