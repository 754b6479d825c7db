#include "journeys/jsonpath.hpp"

#include <gtest/gtest.h>

namespace journeys {
namespace {

using nlohmann::json;

const json kDoc = json::parse(R"({
  "name": "shop",
  "items": [ {"id": 1, "tags": ["a", "b"]}, {"id": 2}, {"id": 3, "price": 9.5} ],
  "a b": "spaced",
  "a/b": "slashed",
  "m~n": "tilded",
  "": "empty key",
  "it's": "quoted",
  "content-type": "text/plain",
  "obj": {"z": 26, "a": 1},
  "nested": {"id": "n", "deeper": {"id": "d", "list": [{"id": "l0"}, {"x": {"id": "lx"}}]}}
})");

struct SelectCase {
  std::string path;
  std::string want;  // the selected nodes as a JSON array
};

class JsonPathSelect : public testing::TestWithParam<SelectCase> {};

TEST_P(JsonPathSelect, Selects) {
  std::string error;
  auto path = JsonPath::compile(GetParam().path, &error);
  ASSERT_TRUE(path) << error;
  EXPECT_EQ(path->text(), GetParam().path);
  json got = json::array();
  for (const json* node : path->select(kDoc))
    got.push_back(*node);
  EXPECT_EQ(got, json::parse(GetParam().want)) << got.dump();

  const json* first = path->first(kDoc);
  if (got.empty()) {
    EXPECT_EQ(first, nullptr);
  } else {
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(*first, got.front());
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, JsonPathSelect,
    testing::Values(
        SelectCase{"$.name", R"(["shop"])"}, SelectCase{"$.items[0].id", "[1]"},
        SelectCase{"$.items[0].tags[1]", R"(["b"])"}, SelectCase{"$['a b']", R"(["spaced"])"},
        SelectCase{R"($["a b"])", R"(["spaced"])"}, SelectCase{R"($['it\'s'])", R"(["quoted"])"},
        SelectCase{"$[ 'name' ]", R"(["shop"])"}, SelectCase{"$.content-type", R"(["text/plain"])"},
        SelectCase{"$.items[-1].id", "[3]"}, SelectCase{"$.items[-3].id", "[1]"},
        // Nothing selected: missing members, indexes out of range, the wrong kind of node.
        SelectCase{"$.missing", "[]"}, SelectCase{"$.items[3]", "[]"},
        SelectCase{"$.items[-4]", "[]"}, SelectCase{"$.items.id", "[]"},
        SelectCase{"$.name[0]", "[]"}, SelectCase{"$.name.length", "[]"},
        SelectCase{"$.items[1].price", "[]"}, SelectCase{"$.missing[*]", "[]"},
        // Wildcards: arrays in order, objects in key order (nlohmann keeps objects sorted).
        SelectCase{"$.items[*].id", "[1, 2, 3]"}, SelectCase{"$.items.*.id", "[1, 2, 3]"},
        SelectCase{"$.obj.*", "[1, 26]"}, SelectCase{"$.obj[*]", "[1, 26]"},
        SelectCase{"$.name.*", "[]"}, SelectCase{"$.items[*].price", "[9.5]"},
        // Recursive descent: a node's own member first, then its descendants in order.
        SelectCase{"$.nested..id", R"(["n", "d", "l0", "lx"])"}, SelectCase{"$..price", "[9.5]"},
        SelectCase{"$.nested.deeper..['id']", R"(["d", "l0", "lx"])"},
        SelectCase{"$.items[0]..*", R"([1, ["a", "b"], "a", "b"])"},
        SelectCase{"$.items[0].tags..*", R"(["a", "b"])"}, SelectCase{"$.name..*", "[]"},
        SelectCase{"$..nothing", "[]"},
        // JSON pointers.
        SelectCase{"/items/0/id", "[1]"}, SelectCase{"/items/2/price", "[9.5]"},
        SelectCase{"/a~1b", R"(["slashed"])"}, SelectCase{"/m~0n", R"(["tilded"])"},
        SelectCase{"/", R"(["empty key"])"},
        SelectCase{"/items/01", "[]"},  // not a canonical index
        SelectCase{"/items/-", "[]"},   // past the end
        SelectCase{"/items/3", "[]"}, SelectCase{"/items/x", "[]"}, SelectCase{"/name/0", "[]"},
        SelectCase{"/missing/0", "[]"}));

TEST(JsonPath, WholeDocument) {
  for (std::string text : {"$", ""}) {
    std::string error;
    auto path = JsonPath::compile(text, &error);
    ASSERT_TRUE(path) << text << ": " << error;
    EXPECT_TRUE(path->definite());
    ASSERT_EQ(path->select(kDoc).size(), 1u);
    EXPECT_EQ(path->first(kDoc), &kDoc);
  }
}

TEST(JsonPath, SelectsFromScalarsAndArrays) {
  auto path = JsonPath::compile("$[0]", nullptr);
  ASSERT_TRUE(path);
  EXPECT_EQ(*path->first(json::parse("[7, 8]")), 7);
  EXPECT_EQ(path->first(json(5)), nullptr);
  EXPECT_EQ(path->first(json()), nullptr);
}

TEST(JsonPath, Definite) {
  struct Case {
    std::string path;
    bool definite;
  };
  for (const Case& c :
       {Case{"$.a.b[0]", true}, Case{"$['x'][-1]", true}, Case{"/a/0", true}, Case{"$.a[*]", false},
        Case{"$.*", false}, Case{"$..a", false}, Case{"$..*", false}, Case{"$.a[0]..b", false}}) {
    auto path = JsonPath::compile(c.path, nullptr);
    ASSERT_TRUE(path) << c.path;
    EXPECT_EQ(path->definite(), c.definite) << c.path;
  }
}

TEST(JsonPath, IndefiniteFirstIsTheFirstSelected) {
  auto path = JsonPath::compile("$.items[*].id", nullptr);
  ASSERT_TRUE(path);
  EXPECT_EQ(*path->first(kDoc), 1);
}

TEST(JsonPath, DeepDocumentDoesNotRecurse) {
  // 100k levels: a recursive walk would overflow the stack.
  json doc = json::object();
  json* at = &doc;
  for (int i = 0; i < 100000; ++i)
    at = &((*at)["k"] = json::object());
  (*at)["id"] = 42;
  auto path = JsonPath::compile("$..id", nullptr);
  ASSERT_TRUE(path);
  auto found = path->select(doc);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(*found[0], 42);
}

struct ErrorCase {
  std::string path;
  std::string error;
};

class JsonPathError : public testing::TestWithParam<ErrorCase> {};

TEST_P(JsonPathError, Rejects) {
  std::string error;
  EXPECT_FALSE(JsonPath::compile(GetParam().path, &error));
  EXPECT_EQ(error, GetParam().error);
  EXPECT_FALSE(JsonPath::compile(GetParam().path, nullptr));
}

INSTANTIATE_TEST_SUITE_P(
    All, JsonPathError,
    testing::Values(
        ErrorCase{"items[0]", "at 1: expected '$' or '/' at the start"},
        ErrorCase{"$a", "at 2: expected '.' or '[', got 'a'"},
        ErrorCase{"$.", "at 3: expected a name"}, ErrorCase{"$.a.", "at 5: expected a name"},
        ErrorCase{"$. a", "at 3: expected a name, got ' ' (use ['...'] for such names)"},
        ErrorCase{"$.a b", "at 4: unexpected ' ' in a name (use ['...'] for such names)"},
        ErrorCase{"$.a]", "at 4: unexpected ']' in a name (use ['...'] for such names)"},
        ErrorCase{"$.items[0", "at 10: expected ']'"}, ErrorCase{"$[0 1]", "at 5: expected ']'"},
        ErrorCase{"$['a'", "at 6: expected ']'"},
        ErrorCase{"$['a", "at 5: unterminated string, expected a closing quote"},
        ErrorCase{"$['a\\", "at 6: unterminated string, expected a closing quote"},
        ErrorCase{"$[]", "at 3: expected a quoted name, an index or '*'"},
        ErrorCase{"$[", "at 3: expected a quoted name, an index or '*'"},
        ErrorCase{"$[a]", "at 3: expected a quoted name, an index or '*'"},
        ErrorCase{"$[-]", "at 3: expected an index"},
        ErrorCase{"$[99999999999999999999]", "at 3: index out of range"},
        ErrorCase{"$..", "at 4: expected a name"},
        ErrorCase{"$..[0]", "at 4: '..' takes a name or '*', not an index"},
        ErrorCase{"/a~2", "at 3: '~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')"},
        ErrorCase{"/a~", "at 3: '~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')"}));

}  // namespace
}  // namespace journeys
