package main

import (
	"encoding/json"
	"testing"

	"github.com/dagger/dagger/cmd/codegen/introspection"
)

// A core schema with just what the test module refers to.
const miniCore = `{"__schemaVersion":"v0.21.8","__schema":{"queryType":{"name":"Query"},"directives":[],"types":[
 {"kind":"OBJECT","name":"Query","fields":[]},
 {"kind":"OBJECT","name":"Env","fields":[]},
 {"kind":"OBJECT","name":"Binding","fields":[]},
 {"kind":"OBJECT","name":"Directory","fields":[]},
 {"kind":"OBJECT","name":"Secret","fields":[]},
 {"kind":"INTERFACE","name":"Node","fields":[{"name":"id","args":[],"type":{"kind":"NON_NULL","ofType":{"kind":"SCALAR","name":"ID"}}}],"possibleTypes":[{"kind":"OBJECT","name":"Directory"}]},
 {"kind":"INTERFACE","name":"Syncer","fields":[{"name":"sync","args":[],"type":{"kind":"NON_NULL","ofType":{"kind":"SCALAR","name":"ID"}}}]},
 {"kind":"SCALAR","name":"ID"},{"kind":"SCALAR","name":"String"}]}}`

// testModule is what the Go SDK registers for:
//
//	// Tools does things.
//	type Tools struct{ Image string }
//	func New(image string /* +optional */) *Tools
//	// Run runs.
//	// +cache="session"
//	func (m *Tools) Run(src *Directory /* +defaultPath="/" +ignore=["x"] */, keys []*Secret, n int /* +default=3 */) *Result
//	type Result struct{ Out string; Dir *Directory }
func testModule() *Module {
	sm := func(line int) *SourceMap { return &SourceMap{Filename: "main.go", Line: line, Column: 1} }
	str := (&TypeDef{}).withKind("STRING_KIND")
	result := (&TypeDef{}).withObject("Result", "", nil, nil)
	tools := (&TypeDef{}).withObject("Tools", "Tools does things.\n", sm(3), nil)
	tools, _ = tools.withField(&FieldTypeDef{Name: "image", OriginalName: "Image", Description: "Image to use.\n", TypeDef: str, SourceMap: sm(4)})
	run := newFunction("Run", result).withDescription("Run runs.").withSourceMap(sm(9))
	run, _ = run.withCachePolicy("PerSession", nil)
	run = run.withArg(&FunctionArg{Name: "src", TypeDef: (&TypeDef{}).withObject("Directory", "", nil, nil),
		DefaultPath: "/", Ignore: []string{"x"}, SourceMap: sm(10)})
	run = run.withArg(&FunctionArg{Name: "keys", TypeDef: (&TypeDef{}).withListOf((&TypeDef{}).withObject("Secret", "", nil, nil))})
	run = run.withArg(&FunctionArg{Name: "n", TypeDef: (&TypeDef{}).withKind("INTEGER_KIND").withOptional(true), DefaultValue: "3"})
	tools, _ = tools.withFunction(run)
	ctor := newFunction("New", (&TypeDef{}).withObject("Tools", "", nil, nil))
	ctor = ctor.withArg(&FunctionArg{Name: "image", TypeDef: str.withOptional(true), Description: "Image."})
	tools, _ = tools.withConstructor(ctor)
	res := (&TypeDef{}).withObject("Result", "", sm(20), nil)
	res, _ = res.withField(&FieldTypeDef{Name: "out", OriginalName: "Out", TypeDef: str})
	res, _ = res.withField(&FieldTypeDef{Name: "dir", OriginalName: "Dir", TypeDef: (&TypeDef{}).withObject("Directory", "", nil, nil)})
	mod := &Module{Description: "The tools module."}
	mod, _ = mod.withObject(tools)
	mod, _ = mod.withObject(res)
	return mod
}

func installTest(t *testing.T) *introspection.Schema {
	t.Helper()
	var resp introspection.Response
	if err := json.Unmarshal([]byte(miniCore), &resp); err != nil {
		t.Fatal(err)
	}
	dep := Dependency{Name: "tools", OriginalName: "tools", SourceSubpath: ".dagger"}
	if err := Install(resp.Schema, dep, testModule()); err != nil {
		t.Fatal(err)
	}
	return resp.Schema
}

func field(t *testing.T, s *introspection.Schema, typ, name string) *introspection.Field {
	t.Helper()
	ty := s.Types.Get(typ)
	if ty == nil {
		t.Fatalf("no type %s", typ)
	}
	for _, f := range ty.Fields {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no field %s.%s", typ, name)
	return nil
}

func arg(t *testing.T, f *introspection.Field, name string) introspection.InputValue {
	t.Helper()
	for _, a := range f.Args {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no argument %s on %s", name, f.Name)
	return introspection.InputValue{}
}

func directiveArg(t *testing.T, ds introspection.Directives, name, argName string) string {
	t.Helper()
	d := ds.Directive(name)
	if d == nil || d.Arg(argName) == nil {
		t.Fatalf("no @%s(%s) in %s", name, argName, dump(ds))
	}
	return *d.Arg(argName)
}

func dump(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestNamespacing(t *testing.T) {
	s := installTest(t)
	// The main object keeps the module's name, others get it as a prefix,
	// and references to them follow.
	if s.Types.Get("Tools") == nil || s.Types.Get("ToolsResult") == nil || s.Types.Get("Result") != nil {
		t.Fatalf("types: want Tools and ToolsResult")
	}
	if got := refString(field(t, s, "Tools", "run").TypeRef); got != "ToolsResult!" {
		t.Errorf("run returns %s", got)
	}
	if got := refString(field(t, s, "ToolsResult", "dir").TypeRef); got != "Directory!" {
		t.Errorf("core types keep their names, got %s", got)
	}
}

func TestFunctionsAndArgs(t *testing.T) {
	s := installTest(t)
	run := field(t, s, "Tools", "run")
	if run.Description != "\nRun runs.\n" {
		t.Errorf("description %q: want formatGqlDescription's form", run.Description)
	}
	if got := directiveArg(t, run.Directives, "cache", "policy"); got != "PerSession" {
		t.Errorf("@cache policy %s", got)
	}
	src := arg(t, run, "src")
	// defaultPath makes the argument optional; objects are passed as IDs.
	if got := refString(src.TypeRef); got != "ID" {
		t.Errorf("src type %s", got)
	}
	if got := directiveArg(t, src.Directives, "expectedType", "name"); got != `"Directory"` {
		t.Errorf("src @expectedType %s", got)
	}
	if got := directiveArg(t, src.Directives, "defaultPath", "path"); got != `"/"` {
		t.Errorf("@defaultPath %s", got)
	}
	if got := directiveArg(t, src.Directives, "ignorePatterns", "patterns"); got != `["x"]` {
		t.Errorf("@ignorePatterns %s", got)
	}
	if got := directiveArg(t, src.Directives, "sourceMap", "filename"); got != `".dagger/main.go"` {
		t.Errorf("source map filename %s", got)
	}
	keys := arg(t, run, "keys")
	if got := refString(keys.TypeRef); got != "[ID!]!" {
		t.Errorf("keys type %s", got)
	}
	if got := directiveArg(t, keys.Directives, "expectedType", "name"); got != `"Secret"` {
		t.Errorf("keys @expectedType %s", got)
	}
	n := arg(t, run, "n")
	if refString(n.TypeRef) != "Int" || n.DefaultValue == nil || *n.DefaultValue != "3" {
		t.Errorf("n: %s", dump(n))
	}
	// Directives are listed by name.
	var names []string
	for _, d := range src.Directives {
		names = append(names, d.Name)
	}
	if dump(names) != `["defaultPath","expectedType","ignorePatterns","sourceMap"]` {
		t.Errorf("directive order %v", names)
	}
}

func TestObjectFields(t *testing.T) {
	s := installTest(t)
	img := field(t, s, "Tools", "image")
	if img.Description != "Image to use.\n" {
		t.Errorf("fields keep their description as given, got %q", img.Description)
	}
	if img.Directives.Directive("trivialResolveField") == nil {
		t.Errorf("field directives %s", dump(img.Directives))
	}
	id := field(t, s, "ToolsResult", "id")
	if refString(id.TypeRef) != "ID!" || id.Description != "A unique identifier for this ToolsResult." {
		t.Errorf("id: %s", dump(id))
	}
	// No position: the source map still names the module.
	out := field(t, s, "ToolsResult", "out")
	if got := directiveArg(t, out.Directives, "sourceMap", "module"); got != `"tools"` {
		t.Errorf("module %s", got)
	}
	if out.Directives.Directive("sourceMap").Arg("filename") != nil {
		t.Errorf("an absent position stays absent: %s", dump(out.Directives))
	}
}

func TestQueryAndHooks(t *testing.T) {
	s := installTest(t)
	ctor := field(t, s, "Query", "tools")
	if refString(ctor.TypeRef) != "Tools!" || len(ctor.Args) != 1 || refString(ctor.Args[0].TypeRef) != "String" {
		t.Errorf("constructor: %s", dump(ctor))
	}
	// The constructor has no doc: the object's is used.
	if ctor.Description != "\nTools does things.\n" {
		t.Errorf("constructor description %q", ctor.Description)
	}
	load := field(t, s, "Query", "loadToolsResultFromID")
	if refString(load.TypeRef) != "ToolsResult!" || refString(load.Args[0].TypeRef) != "ToolsResultID!" {
		t.Errorf("loader: %s", dump(load))
	}
	if s.Types.Get("ToolsResultID") == nil {
		t.Errorf("no ToolsResultID scalar")
	}
	in := field(t, s, "Env", "withToolsInput")
	if got := directiveArg(t, in.Directives, "sourceMap", "line"); got != "3" {
		t.Errorf("hook fields carry the object's source map, got line %s", got)
	}
	field(t, s, "Env", "withToolsResultOutput")
	field(t, s, "Binding", "asToolsResult")
	// Fields and types stay sorted.
	q := s.Types.Get("Query").Fields
	for i := 1; i < len(q); i++ {
		if q[i-1].Name > q[i].Name {
			t.Fatalf("Query fields unsorted: %s before %s", q[i-1].Name, q[i].Name)
		}
	}
	for i := 1; i < len(s.Types); i++ {
		if s.Types[i-1].Name > s.Types[i].Name {
			t.Fatalf("types unsorted: %s before %s", s.Types[i-1].Name, s.Types[i].Name)
		}
	}
}

func TestInterfaces(t *testing.T) {
	s := installTest(t)
	tools := s.Types.Get("Tools")
	if dump(tools.Interfaces) != dump([]*introspection.Type{{Kind: "INTERFACE", Name: "Node"}}) {
		t.Errorf("Tools implements %s; want Node only", dump(tools.Interfaces))
	}
	var possible []string
	for _, p := range s.Types.Get("Node").PossibleTypes {
		possible = append(possible, p.Name)
	}
	if dump(possible) != `["Directory","Tools","ToolsResult"]` {
		t.Errorf("Node possible types %v", possible)
	}
}

func TestObjectNames(t *testing.T) {
	c := &converter{dep: Dependency{Name: "post", OriginalName: "post"}}
	for orig, want := range map[string]string{"Post": "Post", "PostMan": "PostMan", "Postman": "PostPostman", "Report": "PostReport"} {
		if got := c.objectName(orig); got != want {
			t.Errorf("%s: got %s, want %s", orig, got, want)
		}
	}
	// A dependency installed under another name takes that name.
	c.dep.Name = "mail"
	if got := c.objectName("PostMan"); got != "MailMan" {
		t.Errorf("renamed: got %s", got)
	}
}

func TestUnknownTypeFails(t *testing.T) {
	var resp introspection.Response
	if err := json.Unmarshal([]byte(miniCore), &resp); err != nil {
		t.Fatal(err)
	}
	obj := (&TypeDef{}).withObject("Tools", "", nil, nil)
	obj, _ = obj.withFunction(newFunction("Get", (&TypeDef{}).withObject("Elsewhere", "", nil, nil)))
	mod, _ := (&Module{}).withObject(obj)
	if err := Install(resp.Schema, Dependency{Name: "tools", OriginalName: "tools"}, mod); err == nil {
		t.Fatal("a reference to an unknown type must fail")
	}
}
