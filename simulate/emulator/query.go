package emulator

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// maxListIndex bounds the index of a flattened query list member ("InstanceId.1000").
const maxListIndex = 1000

// listMember is one member of a flattened query-protocol list: for the list "Filter", the keys
// "Filter.2.Name" and "Filter.2.Value.1" make the member with index 2 and the fields
// {"Name": ..., "Value.1": ...}; for a list of scalars ("InstanceId.3") the field key is "".
type listMember struct {
	index  int
	fields url.Values
}

// listMembers collects the members of the flattened list prefix from form, in index order.
// It reports the first key whose index is not an integer in [1, maxListIndex].
func listMembers(form url.Values, prefix string) ([]listMember, string, bool) {
	byIndex := map[int]url.Values{}
	p := prefix + "."
	for key, vals := range form {
		rest, ok := strings.CutPrefix(key, p)
		if !ok {
			continue
		}
		idx, sub, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if err != nil || n < 1 || n > maxListIndex || idx[0] == '+' {
			return nil, key, false
		}
		m := byIndex[n]
		if m == nil {
			m = url.Values{}
			byIndex[n] = m
		}
		m[sub] = vals
	}
	out := make([]listMember, 0, len(byIndex))
	for n, f := range byIndex {
		out = append(out, listMember{index: n, fields: f})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out, "", true
}

// scalarList returns the values of a flattened list of scalars ("InstanceId.1", "InstanceId.2").
func scalarList(form url.Values, prefix string) ([]string, string, bool) {
	ms, bad, ok := listMembers(form, prefix)
	if !ok {
		return nil, bad, false
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if len(m.fields) != 1 || m.fields[""] == nil {
			return nil, prefix + "." + strconv.Itoa(m.index), false
		}
		out = append(out, m.fields.Get(""))
	}
	return out, "", true
}

// hasList reports whether form has any member of the flattened list prefix.
func hasList(form url.Values, prefix string) bool {
	p := prefix + "."
	for key := range form {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}
