package sarifio

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/xeipuuv/gojsonschema"
)

// schemaJSON is the SARIF 2.1.0 schema (OASIS errata01) copied verbatim from
// github.com/owenrumney/go-sarif/v3 v3.3.1, pkg/report/v210/sarif/schema.go,
// where it is an unexported const with no accessor. See schema/README.md.
//
//go:embed schema/sarif-schema-2.1.0.json
var schemaJSON []byte

// Compiled once: the schema is ~110 KB and every Validate would re-parse it.
var loadSchema = sync.OnceValues(func() (*gojsonschema.Schema, error) {
	return gojsonschema.NewSchema(gojsonschema.NewBytesLoader(schemaJSON))
})

// Problem is one schema violation.
type Problem struct {
	// Path is the failing JSON path, e.g. "(root).runs.0.results.1.message".
	Path    string
	Message string
}

// SchemaError lists every place a document breaks the SARIF schema.
type SchemaError struct {
	Problems []Problem
}

func (e *SchemaError) Error() string {
	const show = 10
	var b strings.Builder
	fmt.Fprintf(&b, "SARIF 2.1.0 schema: %d problem(s)", len(e.Problems))
	for i, p := range e.Problems {
		if i == show {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-show)
			break
		}
		fmt.Fprintf(&b, "; %s: %s", p.Path, p.Message)
	}
	return b.String()
}

// Validate checks data against the official SARIF 2.1.0 JSON schema. A
// schema violation is returned as *SchemaError.
func Validate(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return fmt.Errorf("SARIF: empty document")
	}
	// gojsonschema's own parse error does not say where; json.Valid is cheap.
	if !json.Valid(data) {
		return fmt.Errorf("SARIF: not valid JSON: %w", jsonSyntaxError(data))
	}
	schema, err := loadSchema()
	if err != nil {
		return fmt.Errorf("SARIF schema: %w", err)
	}
	res, err := schema.Validate(gojsonschema.NewBytesLoader(data))
	if err != nil {
		return fmt.Errorf("SARIF: %w", err)
	}
	if res.Valid() {
		return nil
	}
	se := &SchemaError{}
	for _, e := range res.Errors() {
		se.Problems = append(se.Problems, Problem{Path: e.Context().String(), Message: e.Description()})
	}
	return se
}

func jsonSyntaxError(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return fmt.Errorf("invalid JSON")
}
