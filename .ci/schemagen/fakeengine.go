package main

// fakeEngine answers the GraphQL queries the Go SDK's typedefs pass sends.
// The pass (cmd/codegen/generator/go/templates/typedefs.go) describes the
// module with builder calls on dag.TypeDef(), dag.Function(), dag.Module(),
// then asks for the module's ID; every object argument is sent as the ID of
// its own earlier query. So an engine only has to evaluate chains of builder
// fields and hand out IDs. This one does that in memory for the builder API
// subset a Go module uses, and fails loudly on anything else, so a new call
// the generator starts making is noticed rather than silently dropped.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

type fakeEngine struct {
	mu      sync.Mutex
	objects map[string]any
}

func newFakeEngine() *fakeEngine { return &fakeEngine{objects: map[string]any{}} }

// Host, Close and Do make it a dagger engineconn.EngineConn.
func (e *fakeEngine) Host() string { return "schemagen.invalid" }
func (e *fakeEngine) Close() error { return nil }

func (e *fakeEngine) Do(req *http.Request) (*http.Response, error) {
	var body struct {
		Query string `json:"query"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("fake engine: request: %w", err)
	}
	var out any
	data, err := e.exec(body.Query)
	if err != nil {
		out = map[string]any{"errors": []map[string]any{{"message": err.Error()}}}
	} else {
		out = map[string]any{"data": data}
	}
	js, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(js)),
		Request:    req,
	}, nil
}

// load returns the value an earlier query's ID names.
func (e *fakeEngine) load(id string) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.objects[id]
	if !ok {
		return nil, fmt.Errorf("unknown ID %q", id)
	}
	return v, nil
}

func (e *fakeEngine) store(v any) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := "schemagen:" + strconv.Itoa(len(e.objects)+1)
	e.objects[id] = v
	return id
}

// exec evaluates one querybuilder chain: {a(...){b(...){id}}}.
func (e *fakeEngine) exec(query string) (any, error) {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return nil, err
	}
	if len(doc.Operations) != 1 {
		return nil, fmt.Errorf("expected one operation, got %d", len(doc.Operations))
	}
	return e.selectOn(root{}, doc.Operations[0].SelectionSet)
}

type root struct{}

func (e *fakeEngine) selectOn(self any, set ast.SelectionSet) (map[string]any, error) {
	if len(set) != 1 {
		return nil, fmt.Errorf("expected a single field selection, got %d", len(set))
	}
	f, ok := set[0].(*ast.Field)
	if !ok {
		return nil, fmt.Errorf("unsupported selection %T", set[0])
	}
	if f.Name == "id" && len(f.SelectionSet) == 0 {
		return map[string]any{f.Alias: e.store(self)}, nil
	}
	args := map[string]any{}
	for _, a := range f.Arguments {
		v, err := a.Value.Value(nil)
		if err != nil {
			return nil, fmt.Errorf("%s(%s): %w", f.Name, a.Name, err)
		}
		args[a.Name] = v
	}
	next, err := e.call(self, f.Name, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	if len(f.SelectionSet) == 0 {
		return nil, fmt.Errorf("%s: only builder chains ending in id are supported", f.Name)
	}
	sub, err := e.selectOn(next, f.SelectionSet)
	if err != nil {
		return nil, err
	}
	return map[string]any{f.Alias: sub}, nil
}

// call evaluates one builder field, as core/schema/module.go resolves it.
func (e *fakeEngine) call(self any, field string, args map[string]any) (any, error) {
	a := argReader{e: e, args: args}
	var out any
	var err error
	switch v := self.(type) {
	case root:
		switch field {
		case "module":
			out = &Module{}
		case "typeDef":
			out = &TypeDef{}
		case "function":
			out = newFunction(a.str("name"), a.typeDef("returnType"))
		case "sourceMap":
			out = &SourceMap{Module: a.str("module"), Filename: a.str("filename"),
				Line: a.int("line"), Column: a.int("column"), URL: a.str("url")}
		default:
			return nil, unsupported("Query", field)
		}
	case *Module:
		switch field {
		case "withDescription":
			cp := *v
			cp.Description = strings.TrimSpace(a.str("description"))
			out = &cp
		case "withObject":
			out, err = v.withObject(a.typeDef("object"))
		default:
			// withInterface, withEnum: not needed by this project's module.
			return nil, unsupported("Module", field)
		}
	case *TypeDef:
		switch field {
		case "withKind":
			out = v.withKind(a.str("kind"))
		case "withOptional":
			out = v.withOptional(a.bool("optional"))
		case "withListOf":
			out = v.withListOf(a.typeDef("elementType"))
		case "withObject":
			out = v.withObject(a.str("name"), a.str("description"), a.sourceMap("sourceMap"), a.optStr("deprecated"))
		case "withField":
			out, err = v.withField(&FieldTypeDef{
				Name:         strcaseLowerCamel(a.str("name")),
				OriginalName: a.str("name"),
				Description:  a.str("description"),
				TypeDef:      a.typeDef("typeDef"),
				SourceMap:    a.sourceMap("sourceMap"),
				Deprecated:   a.optStr("deprecated"),
			})
		case "withFunction":
			out, err = v.withFunction(a.function("function"))
		case "withConstructor":
			out, err = v.withConstructor(a.function("function"))
		default:
			// withScalar, withEnum, withInterface, withEnumMember...
			return nil, unsupported("TypeDef", field)
		}
	case *Function:
		switch field {
		case "withDescription":
			out = v.withDescription(a.str("description"))
		case "withDeprecated":
			out = v.withDeprecated(a.optStr("reason"))
		case "withSourceMap":
			out = v.withSourceMap(a.sourceMap("sourceMap"))
		case "withCheck":
			out = v.withCheck()
		case "withGenerator":
			out = v.withGenerator()
		case "withUp":
			out = v.withUp()
		case "withCachePolicy":
			out, err = v.withCachePolicy(a.str("policy"), a.optStr("timeToLive"))
		case "withArg":
			out = v.withArg(&FunctionArg{
				Name:           a.str("name"),
				TypeDef:        a.typeDef("typeDef"),
				Description:    a.str("description"),
				DefaultValue:   a.str("defaultValue"),
				DefaultPath:    a.str("defaultPath"),
				DefaultAddress: a.str("defaultAddress"),
				Ignore:         a.strs("ignore"),
				SourceMap:      a.sourceMap("sourceMap"),
				Deprecated:     a.optStr("deprecated"),
			})
		default:
			return nil, unsupported("Function", field)
		}
	case *SourceMap:
		return nil, unsupported("SourceMap", field)
	default:
		return nil, fmt.Errorf("unexpected parent %T", self)
	}
	if err == nil {
		err = a.err
	}
	return out, err
}

func unsupported(typ, field string) error {
	return fmt.Errorf("%s.%s is not supported by schemagen's fake engine (extend fakeengine.go and convert.go)", typ, field)
}

// argReader reads typed arguments, remembering the first error.
type argReader struct {
	e    *fakeEngine
	args map[string]any
	err  error
}

func (a *argReader) fail(name string, err error) {
	if a.err == nil {
		a.err = fmt.Errorf("argument %s: %w", name, err)
	}
}

func (a *argReader) str(name string) string {
	if p := a.optStr(name); p != nil {
		return *p
	}
	return ""
}

func (a *argReader) optStr(name string) *string {
	v, ok := a.args[name]
	if !ok || v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		a.fail(name, fmt.Errorf("want a string, got %T", v))
		return nil
	}
	return &s
}

func (a *argReader) strs(name string) []string {
	v, ok := a.args[name]
	if !ok || v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		a.fail(name, fmt.Errorf("want a list, got %T", v))
		return nil
	}
	var out []string
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			a.fail(name, fmt.Errorf("want strings, got %T", x))
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (a *argReader) int(name string) int {
	switch v := a.args[name].(type) {
	case nil:
		return 0
	case int64:
		return int(v)
	default:
		a.fail(name, fmt.Errorf("want an int, got %T", v))
		return 0
	}
}

func (a *argReader) bool(name string) bool {
	b, ok := a.args[name].(bool)
	if !ok {
		a.fail(name, fmt.Errorf("want a boolean, got %T", a.args[name]))
	}
	return b
}

func loadAs[T any](a *argReader, name string) T {
	var zero T
	id := a.optStr(name)
	if id == nil {
		return zero
	}
	v, err := a.e.load(*id)
	if err != nil {
		a.fail(name, err)
		return zero
	}
	t, ok := v.(T)
	if !ok {
		a.fail(name, fmt.Errorf("ID names a %T, want %T", v, zero))
	}
	return t
}

func (a *argReader) typeDef(name string) *TypeDef {
	t := loadAs[*TypeDef](a, name)
	if t == nil && a.err == nil {
		a.fail(name, fmt.Errorf("missing"))
	}
	return t
}

func (a *argReader) function(name string) *Function {
	f := loadAs[*Function](a, name)
	if f == nil && a.err == nil {
		a.fail(name, fmt.Errorf("missing"))
	}
	return f
}

func (a *argReader) sourceMap(name string) *SourceMap { return loadAs[*SourceMap](a, name) }
