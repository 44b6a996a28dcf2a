package emulator

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// TableSchema is a DynamoDB table's primary key: a partition (hash) key and an optional sort
// (range) key. The emulator has no CreateTable; tables exist on first use with the schema from
// Options.Tables, or DefaultTableSchema.
type TableSchema struct {
	HashKey  string
	RangeKey string // empty: the table has no sort key
}

// DefaultTableSchema is the key schema of tables not declared in Options.Tables: partition
// key "pk" and sort key "sk", the single-table-design convention.
var DefaultTableSchema = TableSchema{HashKey: "pk", RangeKey: "sk"}

func (s TableSchema) validate(table string) error {
	if s.HashKey == "" {
		return fmt.Errorf("emulator: table %q: HashKey is required", table)
	}
	if s.RangeKey == s.HashKey {
		return fmt.Errorf("emulator: table %q: RangeKey must differ from HashKey", table)
	}
	if !isTableName(table) {
		return fmt.Errorf("emulator: table %q: names are 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.'", table)
	}
	return nil
}

func (s TableSchema) String() string {
	if s.RangeKey == "" {
		return s.HashKey + " (HASH)"
	}
	return s.HashKey + " (HASH), " + s.RangeKey + " (RANGE)"
}

func isTableName(s string) bool {
	if len(s) < 3 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isNameByte(c) || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ddbStored is an item with its decoded primary key.
type ddbStored struct {
	item      ddbItem
	hash, rng keyValue
}

func (s *ddbStored) canonical() string { return s.hash.canonical() + "|" + s.rng.canonical() }

type ddbTable struct {
	schema TableSchema
	// hashType and rangeType are the key attributes' types ('S', 'N' or 'B'), fixed by the
	// first item stored, as a table's AttributeDefinitions fix them in AWS.
	hashType, rangeType byte
	items               map[string]*ddbStored   // by canonical primary key
	parts               map[string][]*ddbStored // by canonical hash key, sorted by range key
}

// tableStore holds the DynamoDB tables of every Region.
type tableStore struct {
	mu     sync.Mutex
	tables map[string]*ddbTable // region + "/" + name
}

func newTableStore() *tableStore { return &tableStore{tables: map[string]*ddbTable{}} }

// table returns the table, creating it with schema on first use. Callers hold s.mu.
func (s *tableStore) table(region, name string, schema TableSchema) *ddbTable {
	k := region + "/" + name
	t := s.tables[k]
	if t == nil {
		t = &ddbTable{schema: schema, items: map[string]*ddbStored{}, parts: map[string][]*ddbStored{}}
		s.tables[k] = t
	}
	return t
}

// primaryKey decodes item's key attributes per schema. what names the map for error messages
// ("Key" or "Item"); exact requires that the map has no other attributes (GetItem's Key).
func primaryKey(schema TableSchema, item ddbItem, what string, exact bool) (*ddbStored, *apiError) {
	mismatch := func() *apiError {
		return ddbValidation("The provided key element does not match the schema (the tollgate emulator's schema for this table is %s; declare others with Options.Tables or --table)", schema)
	}
	want := 1
	if schema.RangeKey != "" {
		want = 2
	}
	if exact && len(item) != want {
		return nil, mismatch()
	}
	st := &ddbStored{item: item}
	raw, ok := item[schema.HashKey]
	if !ok {
		if exact {
			return nil, mismatch()
		}
		return nil, ddbValidation("One or more parameter values were invalid: Missing the key %s in the item", schema.HashKey)
	}
	var err error
	if st.hash, err = parseKeyValue(raw); err != nil {
		return nil, ddbValidation("One or more parameter values were invalid: %s.%s: %v", what, schema.HashKey, err)
	}
	if schema.RangeKey != "" {
		raw, ok := item[schema.RangeKey]
		if !ok {
			if exact {
				return nil, mismatch()
			}
			return nil, ddbValidation("One or more parameter values were invalid: Missing the key %s in the item", schema.RangeKey)
		}
		if st.rng, err = parseKeyValue(raw); err != nil {
			return nil, ddbValidation("One or more parameter values were invalid: %s.%s: %v", what, schema.RangeKey, err)
		}
	}
	return st, nil
}

// checkTypes reports a key whose types differ from the table's key attribute types.
func (t *ddbTable) checkTypes(hash, rng keyValue, hasRange bool) *apiError {
	if t.hashType != 0 && hash.typ != t.hashType {
		return ddbValidation("One or more parameter values were invalid: Type mismatch for key %s expected: %c actual: %c", t.schema.HashKey, t.hashType, hash.typ)
	}
	if hasRange && t.rangeType != 0 && rng.typ != t.rangeType {
		return ddbValidation("One or more parameter values were invalid: Type mismatch for key %s expected: %c actual: %c", t.schema.RangeKey, t.rangeType, rng.typ)
	}
	return nil
}

// get returns the item with key k, or nil.
func (s *tableStore) get(region, name string, schema TableSchema, k *ddbStored) (ddbItem, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(region, name, schema)
	if err := t.checkTypes(k.hash, k.rng, schema.RangeKey != ""); err != nil {
		return nil, err
	}
	if st := t.items[k.canonical()]; st != nil {
		return st.item, nil
	}
	return nil, nil
}

// put stores st, returning the item it replaced (nil if none). If check is set it is called
// with the current item under the lock, and a non-nil error aborts the put.
func (s *tableStore) put(region, name string, schema TableSchema, st *ddbStored, check func(old ddbItem) *apiError) (ddbItem, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(region, name, schema)
	if err := t.checkTypes(st.hash, st.rng, schema.RangeKey != ""); err != nil {
		return nil, err
	}
	key := st.canonical()
	old := t.items[key]
	var oldItem ddbItem
	if old != nil {
		oldItem = old.item
	}
	if check != nil {
		if err := check(oldItem); err != nil {
			return nil, err
		}
	}
	t.items[key] = st
	t.hashType = st.hash.typ
	if schema.RangeKey != "" {
		t.rangeType = st.rng.typ
	}
	hk := st.hash.canonical()
	part := t.parts[hk]
	i := sort.Search(len(part), func(i int) bool { return part[i].rng.compare(st.rng) >= 0 })
	if old != nil {
		part[i] = st
	} else {
		part = append(part, nil)
		copy(part[i+1:], part[i:])
		part[i] = st
		t.parts[hk] = part
	}
	return oldItem, nil
}

// rangeCondition restricts a query's sort key.
type rangeCondition struct {
	op     string // "", "=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"
	values []keyValue
}

func (c rangeCondition) matches(v keyValue) bool {
	switch c.op {
	case "":
		return true
	case "=":
		return v.compare(c.values[0]) == 0
	case "<":
		return v.compare(c.values[0]) < 0
	case "<=":
		return v.compare(c.values[0]) <= 0
	case ">":
		return v.compare(c.values[0]) > 0
	case ">=":
		return v.compare(c.values[0]) >= 0
	case "BETWEEN":
		return v.compare(c.values[0]) >= 0 && v.compare(c.values[1]) <= 0
	case "begins_with":
		return strings.HasPrefix(v.str, c.values[0].str)
	}
	return false
}

// query returns the items with hash key hash whose sort key satisfies cond, in sort-key order
// (reversed if !forward), starting after the item with key start (if set), at most limit items
// (0: no limit). more reports whether items remain after the last one returned.
func (s *tableStore) query(region, name string, schema TableSchema, hash keyValue, cond rangeCondition,
	start *ddbStored, limit int, forward bool) (items []ddbItem, more bool, aerr *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(region, name, schema)
	if err := t.checkTypes(hash, keyValue{}, false); err != nil {
		return nil, false, err
	}
	for _, v := range cond.values {
		if err := t.checkTypes(hash, v, schema.RangeKey != ""); err != nil {
			return nil, false, err
		}
	}
	part := t.parts[hash.canonical()]
	n := len(part)
	for k := 0; k < n; k++ {
		i := k
		if !forward {
			i = n - 1 - k
		}
		st := part[i]
		if start != nil {
			c := st.rng.compare(start.rng)
			if forward && c <= 0 || !forward && c >= 0 {
				continue
			}
		}
		if !cond.matches(st.rng) {
			continue
		}
		if limit > 0 && len(items) == limit {
			return items, true, nil
		}
		items = append(items, st.item)
	}
	return items, false, nil
}

// keyAttributes returns the key attributes of item (LastEvaluatedKey).
func keyAttributes(schema TableSchema, item ddbItem) map[string]json.RawMessage {
	k := map[string]json.RawMessage{schema.HashKey: item[schema.HashKey]}
	if schema.RangeKey != "" {
		k[schema.RangeKey] = item[schema.RangeKey]
	}
	return k
}
