package main

import (
	"context"
	"strings"
	"testing"

	"dagger.io/dagger"
)

// The SDK client's own builder calls, through the fake engine, give back the
// definitions they describe.
func TestFakeEngineThroughClient(t *testing.T) {
	ctx := context.Background()
	eng := newFakeEngine()
	dag, err := dagger.Connect(ctx, dagger.WithConn(eng))
	if err != nil {
		t.Fatal(err)
	}
	defer dag.Close()

	fn := dag.Function("ImageScan", dag.TypeDef().WithObject("Report")).
		WithDescription("  Scans.\n").
		WithCachePolicy(dagger.FunctionCachePolicyPerSession).
		WithSourceMap(dag.SourceMap("main.go", 7, 1)).
		WithArg("tags", dag.TypeDef().WithListOf(dag.TypeDef().WithKind(dagger.TypeDefKindStringKind)).WithOptional(true),
			dagger.FunctionWithArgOpts{DefaultValue: dagger.JSON(`["latest"]`)}).
		WithArg("src", dag.TypeDef().WithObject("Directory"),
			dagger.FunctionWithArgOpts{DefaultPath: "/", Ignore: []string{".git"}})
	obj := dag.TypeDef().WithObject("Tools", dagger.TypeDefWithObjectOpts{Description: "Tools."}).
		WithField("Image", dag.TypeDef().WithKind(dagger.TypeDefKindStringKind)).
		WithFunction(fn).
		WithFunction(dag.Function("Check", dag.TypeDef().WithKind(dagger.TypeDefKindVoidKind).WithOptional(true)).WithCheck())
	id, err := dag.Module().WithDescription("mod\n").WithObject(obj).ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := eng.load(string(id))
	if err != nil {
		t.Fatal(err)
	}
	mod := v.(*Module)
	if mod.Description != "mod" || len(mod.Objects) != 1 {
		t.Fatalf("module: %s", dump(mod))
	}
	o := mod.Objects[0].AsObject
	if o.Name != "Tools" || o.Description != "Tools." || len(o.Fields) != 1 || o.Fields[0].Name != "image" || len(o.Functions) != 2 {
		t.Fatalf("object: %s", dump(o))
	}
	scan := o.Functions[0]
	if scan.Name != "imageScan" || scan.Description != "Scans." || scan.CachePolicy != "PerSession" ||
		scan.SourceMap == nil || scan.SourceMap.Line != 7 || scan.ReturnType.AsObject.Name != "Report" {
		t.Fatalf("function: %s", dump(scan))
	}
	tags, src := scan.Args[0], scan.Args[1]
	if tags.TypeDef.Kind != KindList || !tags.TypeDef.Optional || tags.TypeDef.AsList.Kind != KindString || tags.DefaultValue != `["latest"]` {
		t.Errorf("tags: %s", dump(tags))
	}
	if !src.TypeDef.Optional || src.DefaultPath != "/" || dump(src.Ignore) != `[".git"]` {
		t.Errorf("src (a default path makes it optional): %s", dump(src))
	}
	if !o.Functions[1].IsCheck || o.Functions[1].ReturnType.Kind != KindVoid {
		t.Errorf("check: %s", dump(o.Functions[1]))
	}
}

// Builder calls it does not know fail with a message naming them.
func TestFakeEngineRejectsUnknownCalls(t *testing.T) {
	_, err := newFakeEngine().exec(`query Query {typeDef{withEnum(name:"Color"){id}}}`)
	if err == nil || !strings.Contains(err.Error(), "TypeDef.withEnum is not supported") {
		t.Fatalf("got %v", err)
	}
}
