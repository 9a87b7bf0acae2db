// WebShop's and MEM1's texts as their Python code renders them (reference_text.h); the expected
// values come from running the reference Python, not from our code.
#include "actor/envs/webshop/reference_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mem1::webshop {
namespace {

using namespace std::string_literals;

// Expected values: CPython 3.11.7's repr() / str(list) of the same strings.
TEST(WebShopMem1CodeTest, PythonReprMatchesCPython) {
  struct Case {
    std::string in, repr;
  };
  const Case cases[] = {
      {"click[men's 10]", "\"click[men's 10]\""},
      {"click[a\"b]", "'click[a\"b]'"},
      {"click[x'y\"z]", "'click[x\\'y\"z]'"},
      {"click[caf\xC3\xA9]", "'click[caf\xC3\xA9]'"},
      {"click[a\xC2\xA0" "b]", "'click[a\\xa0b]'"},
      {"click[\xE2\x80\x8E" "b]", "'click[\\u200eb]'"},
      {"click[a\\b]", "'click[a\\\\b]'"},
      {"", "''"},
      {"'", "\"'\""},
      {"\"", "'\"'"},
      {"'\"", "'\\'\"'"},
      {"tab\there", "'tab\\there'"},
      {"nl\nx\r", "'nl\\nx\\r'"},
      {"\x00\x07\x1F\x7F"s, "'\\x00\\x07\\x1f\\x7f'"},
      {"\xC2\x80\xC2\x9F", "'\\x80\\x9f'"},
      {"soft\xC2\xAD" "hyphen", "'soft\\xadhyphen'"},
      {"zw\xE2\x80\x8B" "sp", "'zw\\u200bsp'"},
      {"\xE2\x80\xA8\xE2\x80\xA9", "'\\u2028\\u2029'"},
      {"\xE3\x80\x80" "ideo", "'\\u3000ideo'"},
      {"\xEE\x80\x80" "pua", "'\\ue000pua'"},
      {"emoji \xF0\x9F\x98\x80", "'emoji \xF0\x9F\x98\x80'"},
      {"plane15 \xF3\xB0\x80\x80", "'plane15 \\U000f0000'"},
      {"A\xCD\xB8" "B", "'A\\u0378B'"},  // unassigned (Cn)
      {"24\xE2\x80\x9D long", "'24\xE2\x80\x9D long'"},
      {"\xE2\x80\xBA sep", "'\xE2\x80\xBA sep'"},
      {"bom\xEF\xBB\xBF", "'bom\\ufeff'"},
      {"x\xE2\x80\x89y", "'x\\u2009y'"},
      {"it's \\ 'quoted'", "\"it's \\\\ 'quoted'\""},
      {"\xC3\xB1" "and\xC3\xBA", "'\xC3\xB1" "and\xC3\xBA'"},
      {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "'\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E'"},
  };
  for (const auto& c : cases) EXPECT_EQ(PythonStrRepr(c.in), c.repr) << c.in;
  // The spec's example list, str() of it in CPython.
  EXPECT_EQ(PythonListRepr({"click[men's 10]", "click[a\"b]", "click[x'y\"z]", "click[caf\xC3\xA9]", "click[a\xC2\xA0" "b]",
                            "click[\xE2\x80\x8E" "b]", "click[a\\b]"}),
            "[\"click[men's 10]\", 'click[a\"b]', 'click[x\\'y\"z]', 'click[caf\xC3\xA9]', 'click[a\\xa0b]', "
            "'click[\\u200eb]', 'click[a\\\\b]']");
  EXPECT_EQ(PythonListRepr({}), "[]");
  EXPECT_EQ(PythonListRepr({"search[<content>]"}), "['search[<content>]']");
}

// Expected values: Python's re.match(r'(.+)\[(.+)\]', s).groups() (None = no match).
TEST(WebShopMem1CodeTest, ParseActionIsWebShopsRegex) {
  struct Case {
    std::string in;
    bool matched;
    std::string name, arg;
  };
  const Case cases[] = {
      {"click[foo] bar", true, "click", "foo"},
      {"search[a [b] c]", true, "search[a ", "b] c"},
      {"search[]", false, "", ""},
      {"click[]", false, "", ""},
      {"click[a[]", true, "click", "a["},
      {"[x]", false, "", ""},
      {"a[b]", true, "a", "b"},
      {"click[buy\nnow]", false, "", ""},
      {"click[a]\nclick[b]", true, "click", "a"},
      {"x\nclick[a]", false, "", ""},
      {"Click[Buy Now]", true, "Click", "Buy Now"},
      {"search[ hair ]", true, "search", " hair "},
      {"click[[x]]", true, "click[", "x]"},
      {"ab]c[d]e", true, "ab]c", "d"},
      {"", false, "", ""},
  };
  for (const auto& c : cases) {
    const WebShopAction a = ParseWebShopAction(c.in);
    EXPECT_EQ(a.matched, c.matched) << c.in;
    EXPECT_EQ(a.name, c.name) << c.in;
    EXPECT_EQ(a.arg, c.arg) << c.in;
  }
}

TEST(WebShopMem1CodeTest, HintsAndActionValidityMetric) {
  EXPECT_EQ(Mem1TurnHint(9), "[HINT]You have 9 turns left.[/HINT]");
  EXPECT_EQ(Mem1TurnHint(2), "[HINT]You have 2 turns left.[/HINT]");
  EXPECT_EQ(Mem1TurnHint(1), "[HINT]You have 1 turn left. You must answer the question in the next turn.[/HINT]");
  EXPECT_EQ(Mem1TurnHint(0), "");
  EXPECT_EQ(Mem1TurnHint(-1), "");
  const std::vector<std::string> search = {"search[<content>]"}, item = {"click[back to search]", "click[buy now]"};
  EXPECT_TRUE(Mem1ActionIsValid("search[anything]", search));
  EXPECT_TRUE(Mem1ActionIsValid("search[]", search));  // valid for the metric, a no-op in WebShop
  EXPECT_FALSE(Mem1ActionIsValid("search[x]", item));
  EXPECT_TRUE(Mem1ActionIsValid("click[ buy now ]", item));  // the metric strips, WebShop does not
  EXPECT_FALSE(Mem1ActionIsValid("click[Buy Now]", item));   // case-sensitive (executes in WebShop)
  EXPECT_FALSE(Mem1ActionIsValid("click[buy\nnow]", item));
  EXPECT_FALSE(Mem1ActionIsValid("buy now", item));
}

}  // namespace
}  // namespace mem1::webshop
