package portico

// Generation runs ent first (it writes graph/ent.graphqls), then gqlgen.
//go:generate go run -mod=mod ./ent/entc.go
//go:generate go tool gqlgen generate
