package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestMaskName(t *testing.T) {
	for name, want := range map[string]string{
		"张三":        "张*",
		"王小明":       "王*明",
		"欧阳娜娜":      "欧**娜",
		"岩":         "*",
		"":          "",
		"  李华 ":     "李*",
		"阿依古丽·买买提":  "阿******提",
		"王*明":       "王*明", // masking twice changes nothing
		"Zhang San": "Z*******n",
		"𠈌小明":       "𠈌*明", // a character outside the BMP is one character
	} {
		got := MaskName(name)
		if got != want {
			t.Errorf("MaskName(%q) = %q, want %q", name, got, want)
		}
		if !NameMasked(got) {
			t.Errorf("NameMasked(MaskName(%q) = %q) is false", name, got)
		}
	}
	for _, s := range []string{"张三", "王小明", "欧阳娜娜", "a", "**", "*明", "王*小明", "王小*"} {
		if NameMasked(s) {
			t.Errorf("NameMasked(%q) is true", s)
		}
	}
}

// The unmasked-name attack on the kiosk's side: a signed config that
// carries 王小明 in the roster or on the honor roll is refused whole, so the
// name never reaches the screen, even if the cloud were bypassed.
func TestValidateConfigRefusesUnmaskedNames(t *testing.T) {
	for _, doc := range []string{
		`{"v":1,"version":2,"volunteers":[{"id":"V1","name":"王小明","hours":3}]}`,
		`{"v":1,"version":2,"volunteers":[{"id":"V1","name":"张三","hours":3}]}`,
		`{"v":1,"version":2,"honor_roll":[{"volunteer":"V1","name":"王小明","hours":3,"stars":1}]}`,
	} {
		_, err := DecodeConfig([]byte(doc))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not masked") {
			t.Errorf("%s: got %v, want ErrInvalid naming the unmasked name", doc, err)
		}
	}
	ok := `{"v":1,"version":2,"volunteers":[{"id":"V1","name":"王*明","hours":3,"hours_as_of":"2026-11-29T10:00:00Z"}],
		"board":{"contact_person":"王丽（站长）"}}`
	c, err := DecodeConfig([]byte(ok))
	if err != nil {
		t.Fatalf("masked roster and a station manager's full name as contact: %v", err)
	}
	if c.Volunteers[0].HoursAsOf.IsZero() {
		t.Fatal("hours_as_of not decoded")
	}
}
