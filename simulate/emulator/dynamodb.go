package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/simulate/server"
)

const (
	dynamoDBTargetPrefix = "DynamoDB_20120810."
	dynamoDBTypePrefix   = "com.amazonaws.dynamodb.v20120810#"
	dynamoDBContentType  = "application/x-amz-json-1.0"
	// maxItemBytes is DynamoDB's item size limit.
	maxItemBytes = 400 * 1024
)

var dynamoDBService = service{
	id:         "DynamoDB",
	operations: map[string]bool{"GetItem": true, "PutItem": true, "Query": true},
	writeError: writeAWSJSONError("1.0", dynamoDBTypePrefix, true),
	throttle:   dynamoDBThrottle,
	internal: func(*exchange) *apiError {
		return &apiError{status: http.StatusInternalServerError, code: "InternalServerError",
			message: "Internal server error"}
	},
}

// dynamoDBThrottle is ProvisionedThroughputExceededException with its ThrottlingReasons.
func dynamoDBThrottle(x *exchange) *apiError {
	kind := "Read"
	if x.op == "PutItem" {
		kind = "Write"
	}
	return &apiError{
		status: http.StatusBadRequest, code: "ProvisionedThroughputExceededException", throttled: true,
		message: "The level of configured provisioned throughput for the table was exceeded. " +
			"Consider increasing your provisioning level with the UpdateTable API.",
		fields: map[string]any{"ThrottlingReasons": []map[string]string{{
			"reason":   "Table" + kind + "ProvisionedThroughputExceeded",
			"resource": x.tableARN(),
		}}},
	}
}

func ddbValidation(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "ValidationException", message: fmt.Sprintf(format, args...)}
}

// tableARN returns the ARN of the table the request names (set by the handlers in x.resource).
func (x *exchange) tableARN() string {
	return "arn:aws:dynamodb:" + x.region + ":" + x.e.account + ":table/" + x.resource
}

// serveDynamoDB answers an awsJson1.0 request to DynamoDB.
func (e *Emulator) serveDynamoDB(x *exchange, op string) {
	x.op = op
	switch op {
	case "GetItem":
		e.ddbGetItem(x)
	case "PutItem":
		e.ddbPutItem(x)
	case "Query":
		e.ddbQuery(x)
	default:
		x.fail(&apiError{status: http.StatusBadRequest, code: "UnknownOperationException",
			message: "The tollgate emulator implements GetItem, PutItem and Query, not " + truncate(op, 128)})
	}
}

func (x *exchange) replyDynamoDB(v any) { x.replyJSON(dynamoDBContentType, v, true) }

// schema returns the key schema of table.
func (e *Emulator) schema(table string) TableSchema {
	if s, ok := e.tables[table]; ok {
		return s
	}
	return DefaultTableSchema
}

// checkTable validates a TableName and records it as the request's resource.
func checkTable(x *exchange, name string) *apiError {
	if name == "" {
		return ddbValidation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	if !isTableName(name) {
		return ddbValidation("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: "+
			"Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255", truncate(name, 300))
	}
	x.resource = name
	return nil
}

// capacityUnits returns DynamoDB's request units for size bytes: reads 1 per 4 KB (half for
// eventually consistent reads, rounded up), writes 1 per 1 KB; at least 1.
func capacityUnits(size int, write, consistent bool) int {
	if write {
		return max(1, (size+1023)/1024)
	}
	u := max(1, (size+4095)/4096)
	if !consistent {
		u = (u + 1) / 2
	}
	return u
}

func consumedCapacity(mode, table string, units int) any {
	if mode != "TOTAL" && mode != "INDEXES" {
		return nil
	}
	return map[string]any{"TableName": table, "CapacityUnits": float64(units)}
}

type ddbGetItemInput struct {
	TableName                string
	Key                      ddbItem
	ConsistentRead           bool
	ProjectionExpression     string
	ExpressionAttributeNames map[string]string
	AttributesToGet          []string
	ReturnConsumedCapacity   string
}

func (e *Emulator) ddbGetItem(x *exchange) {
	var in ddbGetItemInput
	if err := readJSONBody(x, &in); err != nil {
		x.fail(err)
		return
	}
	if err := checkTable(x, in.TableName); err != nil {
		x.fail(err)
		return
	}
	if len(in.AttributesToGet) > 0 {
		x.fail(ddbValidation("AttributesToGet is a legacy parameter the tollgate emulator does not implement; use ProjectionExpression"))
		return
	}
	schema := e.schema(in.TableName)
	key, err := primaryKey(schema, in.Key, "Key", true)
	if err != nil {
		x.fail(err)
		return
	}
	var projection []string
	if in.ProjectionExpression != "" {
		var perr error
		if projection, perr = parseProjectionExpression(in.ProjectionExpression, in.ExpressionAttributeNames); perr != nil {
			x.fail(ddbValidation("%v", perr))
			return
		}
	}
	item, err := e.ddb.get(x.region, in.TableName, schema, key)
	if err != nil {
		x.fail(err)
		return
	}
	units := capacityUnits(item.size(), false, in.ConsistentRead)
	if !x.admit(server.Request{Resource: in.TableName, Units: units}) {
		return
	}
	out := map[string]any{}
	if item != nil {
		out["Item"] = project(item, projection)
	}
	if cc := consumedCapacity(in.ReturnConsumedCapacity, in.TableName, units); cc != nil {
		out["ConsumedCapacity"] = cc
	}
	x.replyDynamoDB(out)
}

// project keeps the named top-level attributes (all if names is empty).
func project(item ddbItem, names []string) ddbItem {
	if len(names) == 0 {
		return item
	}
	out := ddbItem{}
	for _, n := range names {
		if v, ok := item[n]; ok {
			out[n] = v
		}
	}
	return out
}

type ddbPutItemInput struct {
	TableName                 string
	Item                      ddbItem
	ConditionExpression       string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]json.RawMessage
	ReturnValues              string
	ReturnConsumedCapacity    string
	Expected                  json.RawMessage
}

func (e *Emulator) ddbPutItem(x *exchange) {
	var in ddbPutItemInput
	if err := readJSONBody(x, &in); err != nil {
		x.fail(err)
		return
	}
	if err := checkTable(x, in.TableName); err != nil {
		x.fail(err)
		return
	}
	if len(in.Expected) > 0 && string(in.Expected) != "null" {
		x.fail(ddbValidation("Expected is a legacy parameter the tollgate emulator does not implement; use ConditionExpression"))
		return
	}
	if in.Item == nil {
		x.fail(ddbValidation("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null"))
		return
	}
	if err := validateItem(in.Item, "Item"); err != nil {
		x.fail(err)
		return
	}
	size := in.Item.size()
	if size > maxItemBytes {
		x.fail(ddbValidation("Item size has exceeded the maximum allowed size"))
		return
	}
	switch in.ReturnValues {
	case "", "NONE", "ALL_OLD":
	default:
		x.fail(ddbValidation("ReturnValues can only be ALL_OLD or NONE"))
		return
	}
	schema := e.schema(in.TableName)
	st, err := primaryKey(schema, in.Item, "Item", false)
	if err != nil {
		x.fail(err)
		return
	}
	check, err := parseCondition(in.ConditionExpression, in.ExpressionAttributeNames)
	if err != nil {
		x.fail(err)
		return
	}
	units := capacityUnits(size, true, true)
	if !x.admit(server.Request{Resource: in.TableName, Units: units}) {
		return
	}
	old, err := e.ddb.put(x.region, in.TableName, schema, st, check)
	if err != nil {
		x.fail(err)
		return
	}
	out := map[string]any{}
	if in.ReturnValues == "ALL_OLD" && old != nil {
		out["Attributes"] = old
	}
	if cc := consumedCapacity(in.ReturnConsumedCapacity, in.TableName, units); cc != nil {
		out["ConsumedCapacity"] = cc
	}
	x.replyDynamoDB(out)
}

// parseCondition supports the two condition expressions used to make puts conditional:
// attribute_not_exists(name) and attribute_exists(name). Others are a ValidationException.
func parseCondition(expr string, names map[string]string) (func(old ddbItem) *apiError, *apiError) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	toks, err := tokenizeExpression(expr)
	if err != nil || len(toks) != 4 || toks[1] != "(" || toks[3] != ")" ||
		(toks[0] != "attribute_not_exists" && toks[0] != "attribute_exists") {
		return nil, ddbValidation("The tollgate emulator supports only attribute_not_exists(name) and attribute_exists(name) as ConditionExpression, got %q", truncate(expr, 128))
	}
	p := &exprParser{toks: toks[2:3], names: names}
	name, perr := p.name()
	if perr != nil {
		return nil, ddbValidation("Invalid ConditionExpression: %v", perr)
	}
	wantExists := toks[0] == "attribute_exists"
	return func(old ddbItem) *apiError {
		_, exists := old[name]
		if exists != wantExists {
			return &apiError{status: http.StatusBadRequest, code: "ConditionalCheckFailedException", message: "The conditional request failed"}
		}
		return nil
	}, nil
}

type ddbQueryInput struct {
	TableName                 string
	IndexName                 string
	KeyConditionExpression    string
	FilterExpression          string
	ProjectionExpression      string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]json.RawMessage
	ExclusiveStartKey         ddbItem
	Limit                     *int
	ScanIndexForward          *bool
	ConsistentRead            bool
	Select                    string
	ReturnConsumedCapacity    string
	KeyConditions             json.RawMessage
}

func (e *Emulator) ddbQuery(x *exchange) {
	var in ddbQueryInput
	if err := readJSONBody(x, &in); err != nil {
		x.fail(err)
		return
	}
	if err := checkTable(x, in.TableName); err != nil {
		x.fail(err)
		return
	}
	switch {
	case in.IndexName != "":
		x.fail(ddbValidation("The tollgate emulator does not implement secondary indexes (IndexName %q)", truncate(in.IndexName, 255)))
		return
	case in.FilterExpression != "":
		x.fail(ddbValidation("The tollgate emulator does not implement FilterExpression"))
		return
	case len(in.KeyConditions) > 0 && string(in.KeyConditions) != "null":
		x.fail(ddbValidation("KeyConditions is a legacy parameter the tollgate emulator does not implement; use KeyConditionExpression"))
		return
	case in.KeyConditionExpression == "":
		x.fail(ddbValidation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."))
		return
	case in.Limit != nil && *in.Limit < 1:
		x.fail(ddbValidation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.Limit))
		return
	}
	switch in.Select {
	case "", "ALL_ATTRIBUTES", "COUNT", "SPECIFIC_ATTRIBUTES":
	default:
		x.fail(ddbValidation("Select must be ALL_ATTRIBUTES, COUNT or SPECIFIC_ATTRIBUTES in the tollgate emulator"))
		return
	}
	schema := e.schema(in.TableName)
	hash, cond, aerr := keyQuery(schema, in.KeyConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	var projection []string
	if in.ProjectionExpression != "" {
		var err error
		if projection, err = parseProjectionExpression(in.ProjectionExpression, in.ExpressionAttributeNames); err != nil {
			x.fail(ddbValidation("%v", err))
			return
		}
	}
	var start *ddbStored
	if in.ExclusiveStartKey != nil {
		if start, aerr = primaryKey(schema, in.ExclusiveStartKey, "ExclusiveStartKey", true); aerr != nil {
			x.fail(aerr)
			return
		}
		if start.hash.canonical() != hash.canonical() {
			x.fail(ddbValidation("The provided starting key is invalid: The provided key element does not match the query's partition key"))
			return
		}
	}
	limit := 0
	if in.Limit != nil {
		limit = *in.Limit
	}
	forward := in.ScanIndexForward == nil || *in.ScanIndexForward
	items, more, aerr := e.ddb.query(x.region, in.TableName, schema, hash, cond, start, limit, forward)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	size := 0
	for _, it := range items {
		size += it.size()
	}
	units := capacityUnits(size, false, in.ConsistentRead)
	if !x.admit(server.Request{Resource: in.TableName, Units: units}) {
		return
	}
	out := map[string]any{"Count": len(items), "ScannedCount": len(items)}
	if in.Select != "COUNT" {
		projected := make([]ddbItem, len(items))
		for i, it := range items {
			projected[i] = project(it, projection)
		}
		out["Items"] = projected
	}
	if more && len(items) > 0 {
		out["LastEvaluatedKey"] = keyAttributes(schema, items[len(items)-1])
	}
	if cc := consumedCapacity(in.ReturnConsumedCapacity, in.TableName, units); cc != nil {
		out["ConsumedCapacity"] = cc
	}
	x.replyDynamoDB(out)
}

// keyQuery turns a KeyConditionExpression into the partition key value and the sort key
// condition, checking them against the table's schema.
func keyQuery(schema TableSchema, expr string, names map[string]string, values map[string]json.RawMessage) (keyValue, rangeCondition, *apiError) {
	conds, err := parseKeyConditionExpression(expr, names, values)
	if err != nil {
		return keyValue{}, rangeCondition{}, ddbValidation("%v", err)
	}
	var hash *keyValue
	var rc rangeCondition
	for _, c := range conds {
		vals := make([]keyValue, len(c.values))
		for i, raw := range c.values {
			v, err := parseKeyValue(raw)
			if err != nil {
				return keyValue{}, rangeCondition{}, ddbValidation("Invalid KeyConditionExpression: %v", err)
			}
			vals[i] = v
		}
		switch {
		case c.name == schema.HashKey && c.op == "=" && hash == nil:
			hash = &vals[0]
		case c.name == schema.RangeKey && schema.RangeKey != "" && rc.op == "":
			if c.op == "begins_with" && vals[0].typ == 'N' {
				return keyValue{}, rangeCondition{}, ddbValidation("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
			}
			rc = rangeCondition{op: c.op, values: vals}
		default:
			return keyValue{}, rangeCondition{}, ddbValidation("Query key condition not supported: %s %s is not a condition on this table's key schema %s", c.name, c.op, schema)
		}
	}
	if hash == nil {
		return keyValue{}, rangeCondition{}, ddbValidation("Query condition missed key schema element: %s", schema.HashKey)
	}
	return *hash, rc, nil
}
