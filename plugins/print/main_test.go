package main

import (
	"testing"

	"github.com/wasmhost/wasmhost/sdk"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  sdk.Record
		want string
	}{
		{"user",
			sdk.Record{Topic: "users", Partition: 3, Offset: 17, Key: []byte("42"),
				Value: []byte(`{"name": "Ada", "favorite_color": "teal", "favorite_number": 412}`)},
			`offset=17 key=42 name="Ada" favorite_color="teal" favorite_number=412`},
		{"not JSON", sdk.Record{Topic: "t", Key: []byte("k"), Value: []byte(`{"name": "Ada"`)},
			`offset=0 key=k value="{\"name\": \"Ada\"" note="value is not valid JSON"`},
		{"binary", sdk.Record{Topic: "t", Value: []byte{0xff, 0}},
			`offset=0 key=<null> value="\xff\x00" note="value is not valid JSON"`},
		{"not an object", sdk.Record{Topic: "t", Value: []byte(" [1, 2] ")},
			`offset=0 key=<null> value=[1,2]`},
		{"JSON string", sdk.Record{Topic: "t", Value: []byte(`"hi"`)},
			`offset=0 key=<null> value="hi"`},
		{"null value, empty key", sdk.Record{Topic: "t", Key: []byte{}},
			`offset=0 key="" value=<null>`},
		{"nested, escapes, odd names", sdk.Record{Topic: "t", Key: []byte("a b"),
			Value: []byte(`{"a": {"b": [1, true, null]}, "say \"hi\"": "é\n", "x=y": false, "": 1.5e3}`)},
			`offset=0 key="a b" a={"b":[1,true,null]} "say \"hi\""="é\n" "x=y"=false ""=1.5e3`},
		{"empty object", sdk.Record{Topic: "t", Value: []byte(`{}`)},
			`offset=0 key=<null>`},
		{"literal <null> key", sdk.Record{Topic: "t", Key: []byte("<null>"), Value: []byte(`1`)},
			`offset=0 key="<null>" value=1`},
	} {
		if got := string(format(nil, &tc.rec)); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}
