package ingest

import (
	"context"
	"strings"
	"testing"
)

func TestStoredRawRowOfARejectIsCappedWithItsLength(t *testing.T) {
	e := newEnv(t)
	good := personsHeader + "001;Jan;Boele;jan@example.nl\n"
	e.mustIngest(e.source("hr", "", good, ""))
	huge := "002;Anna;" + strings.Repeat("Lang", 500_000) + ";anna@example.nl"
	if _, _, err := e.ingest(Config{}, e.source("hr", "", good+huge+"\n", "")); err != nil {
		t.Fatal(err)
	}
	rejects, err := e.store.Rejects(context.Background(), e.run)
	if err != nil || len(rejects) != 1 {
		t.Fatalf("rejects %d, %v", len(rejects), err)
	}
	raw := rejects[0].Raw
	if len(raw) > 4200 || !strings.HasPrefix(raw, "002;Anna;LangLang") || !strings.HasSuffix(raw, "(2000025 bytes in all)") {
		t.Fatalf("stored raw row is %d bytes, ending %q", len(raw), raw[max(0, len(raw)-40):])
	}
}
