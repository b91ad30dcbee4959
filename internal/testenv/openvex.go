package testenv

import (
	"bytes"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// OpenVEXInvalid checks doc against the OpenVEX JSON schema
// (vex/testdata/openvex_json_schema.json, whose README names its source),
// formats (uri, date-time) included: nil for a valid document.
func OpenVEXInvalid(t testing.TB, doc []byte) error {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	schema, err := c.Compile(filepath.Join(filepath.Dir(file), "..", "..", "vex", "testdata", "openvex_json_schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return schema.Validate(v)
}
