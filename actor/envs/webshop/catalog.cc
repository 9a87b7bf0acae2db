#include "actor/envs/webshop/catalog.h"

#include <glog/logging.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <cstdio>
#include <memory>
#include <random>

#include "actor/envs/webshop/text_match.h"
#include "common/util/py_random.h"
#include "common/util/strings.h"

namespace mem1::webshop {
namespace {

using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

std::string FirstExisting(const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (fs::exists(fs::path(dir) / n)) return (fs::path(dir) / n).string();
  }
  return "";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? " or " : "") + names[i];
  return s;
}

// SAX handler that builds one top-level element (array item, or object member value) at a time
// and hands it over, so memory stays bounded and cost linear. (nlohmann's DOM callback parser
// keeps every top-level key of an object and removes discarded members by a linear scan:
// quadratic on a 1M-key file.)
class TopLevelStreamer : public nlohmann::json_sax<ojson> {
 public:
  TopLevelStreamer(bool top_is_array, const std::function<void(const std::string&, ojson&&)>* fn)
      : top_is_array_(top_is_array), fn_(fn) {}
  bool null() override { return Value(ojson(nullptr)); }
  bool boolean(bool v) override { return Value(ojson(v)); }
  bool number_integer(number_integer_t v) override { return Value(ojson(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Value(ojson(v)); }
  bool number_float(number_float_t v, const string_t&) override { return Value(ojson(v)); }
  bool string(string_t& v) override { return Value(ojson(std::move(v))); }
  bool binary(binary_t&) override { return Value(ojson(nullptr)); }
  bool start_object(std::size_t) override { return Open(ojson::object(), false); }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(ojson::array(), true); }
  bool end_array() override { return Close(); }
  bool key(string_t& k) override {
    if (stack_.empty()) {
      top_key_ = k;
    } else {
      key_ = k;
    }
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = std::string("invalid JSON at byte ") + std::to_string(pos) + ": " + e.what();
    return false;
  }
  const std::string& error() const { return error_; }
  bool saw_top() const { return saw_top_; }

 private:
  bool Value(ojson&& v) {
    if (!saw_top_) {
      error_ = std::string("expected a JSON ") + (top_is_array_ ? "array" : "object") + " at the top level";
      return false;
    }
    if (stack_.empty()) {
      (*fn_)(top_key_, std::move(v));
    } else if (stack_.back()->is_array()) {
      stack_.back()->push_back(std::move(v));
    } else {
      (*stack_.back())[key_] = std::move(v);
    }
    return true;
  }
  bool Open(ojson&& container, bool is_array) {
    if (!saw_top_) {
      saw_top_ = true;
      if (is_array != top_is_array_) {
        error_ = std::string("expected a JSON ") + (top_is_array_ ? "array" : "object") + " at the top level";
        return false;
      }
      return true;
    }
    ojson* slot;
    if (stack_.empty()) {
      current_ = std::move(container);
      slot = &current_;
    } else if (stack_.back()->is_array()) {
      stack_.back()->push_back(std::move(container));
      slot = &stack_.back()->back();
    } else {
      slot = &((*stack_.back())[key_] = std::move(container));
    }
    stack_.push_back(slot);
    return true;
  }
  bool Close() {
    if (stack_.empty()) return true;  // the top level itself
    stack_.pop_back();
    if (stack_.empty()) (*fn_)(top_key_, std::move(current_));
    return true;
  }
  bool top_is_array_;
  const std::function<void(const std::string&, ojson&&)>* fn_;
  bool saw_top_ = false;
  std::vector<ojson*> stack_;
  ojson current_;
  std::string top_key_, key_, error_;
};

// Streams the elements of a top-level array (or the key/value pairs of a top-level object)
// to `fn` without keeping them. DATA_LOSS on a parse error or the wrong top-level kind.
Status StreamJson(const std::string& path, bool top_is_array,
                  const std::function<void(const std::string& key, ojson&& value)>& fn) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!in) return NotFound(path + ": cannot open");
  TopLevelStreamer sax(top_is_array, &fn);
  bool ok = false;
  try {
    ok = ojson::sax_parse(in.get(), &sax);
  } catch (const std::exception& e) {
    return DataLoss(path + ": invalid JSON: " + e.what());
  }
  if (!ok || !sax.error().empty()) {
    const std::string& e = sax.error();
    if (e.rfind("expected", 0) == 0) return DataLoss(path + ": " + e);
    return DataLoss(path + ": invalid JSON" + (e.empty() ? "" : " (" + e + ")"));
  }
  if (!sax.saw_top()) return DataLoss(path + ": expected a JSON " + std::string(top_is_array ? "array" : "object"));
  return Status::Ok();
}

// Field access with WebShop's expectations; returns an error text or "".
std::string GetString(const ojson& o, const char* k, std::string* out, bool required = true) {
  auto it = o.find(k);
  if (it == o.end() || it->is_null()) return required ? std::string("missing field '") + k + "'" : "";
  if (!it->is_string()) return std::string("field '") + k + "' is not a string";
  *out = it->get<std::string>();
  return "";
}

std::string GetStringList(const ojson& o, const char* k, std::vector<std::string>* out) {
  auto it = o.find(k);
  if (it == o.end() || it->is_null()) return std::string("missing field '") + k + "'";
  if (!it->is_array()) return std::string("field '") + k + "' is not a list";
  for (const auto& v : *it) {
    if (!v.is_string()) return std::string("field '") + k + "' holds a non-string";
    out->push_back(v.get<std::string>());
  }
  return "";
}

std::string StripChars(const std::string& s, char c) {
  size_t b = 0, e = s.size();
  while (b < e && s[b] == c) ++b;
  while (e > b && s[e - 1] == c) --e;
  return s.substr(b, e - b);
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

// engine.py pricing rules; returns an error text or "".
std::string ParsePricing(const ojson& p, Product* out) {
  auto it = p.find("pricing");
  if (it == p.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty())) {
    out->pricing = {100.0};
    out->price_tag = "$100.0";
    return "";
  }
  if (!it->is_string()) return "field 'pricing' is not a string";
  const std::string s = it->get<std::string>();
  std::vector<double> nums;
  size_t pos = s.find('$');
  if (pos == std::string::npos) return "pricing \"" + s + "\" has no '$' amount";
  while (pos != std::string::npos) {
    const size_t next = s.find('$', pos + 1);
    const std::string part = s.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
    std::string digits;
    for (char c : part) if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') digits.push_back(c);
    double v = 0;
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
      return "pricing \"" + s + "\" has an unparsable amount";
    }
    nums.push_back(v);
    pos = next;
  }
  if (nums.size() == 1) {
    out->pricing = nums;
    out->price_tag = "$" + PyFloat(nums[0]);
  } else {
    out->pricing = {nums[0], nums[1]};
    out->price_tag = "$" + PyFloat(nums[0]) + " to $" + PyFloat(nums[1]);
  }
  return "";
}

std::string ParseProduct(const ojson& p, Product* out) {
  if (!p.is_object()) return "not a JSON object";
  std::string e;
  if (!(e = GetString(p, "asin", &out->asin)).empty()) return e;
  if (!(e = GetString(p, "name", &out->name)).empty()) return e;
  out->title = out->name;
  if (!(e = GetString(p, "full_description", &out->description)).empty()) return e;
  auto sd = p.find("small_description");
  if (sd == p.end()) return "missing field 'small_description'";
  if (sd->is_string()) {
    out->bullet_points = {sd->get<std::string>()};
  } else if (sd->is_array()) {
    if (!(e = GetStringList(p, "small_description", &out->bullet_points)).empty()) return e;
  } else if (sd->is_null()) {
    out->bullet_points = {""};  // [None] in WebShop; rendered empty
  } else {
    return "field 'small_description' is neither a string nor a list";
  }
  if (!(e = GetString(p, "query", &out->query)).empty()) return e;
  out->query = Utf8Lower(TrimWhitespace(out->query));
  if (!(e = GetString(p, "category", &out->category)).empty()) return e;
  if (!(e = GetString(p, "product_category", &out->product_category)).empty()) return e;
  if (!(e = ParsePricing(p, out)).empty()) return e;
  auto co = p.find("customization_options");
  if (co == p.end()) return "missing field 'customization_options'";
  if (!co->is_null()) {
    if (!co->is_object()) return "field 'customization_options' is not an object";
    for (auto g = co->begin(); g != co->end(); ++g) {
      if (g.value().is_null()) continue;
      if (!g.value().is_array()) return "option group '" + g.key() + "' is not a list";
      std::vector<std::string> values;
      for (const auto& v : g.value()) {
        auto val = v.is_object() ? v.find("value") : v.end();
        if (!v.is_object() || val == v.end() || !val->is_string()) {
          return "option group '" + g.key() + "' has an entry without a string 'value'";
        }
        values.push_back(Utf8Lower(ReplaceAll(TrimWhitespace(val->get<std::string>()), "/", " | ")));
      }
      out->options.emplace_back(Utf8Lower(g.key()), std::move(values));
    }
  }
  return "";
}

}  // namespace

std::string PyFloat(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const double a = std::fabs(v);
  const bool fixed = a == 0 || (a >= 1e-4 && a < 1e16);
  auto r = fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                 : std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, r.ptr);
  if (fixed && s.find('.') == std::string::npos) s += ".0";
  return s;
}

std::string OptionText(const Product& p) {
  std::string out;
  for (const auto& [name, values] : p.options) {
    if (!out.empty()) out += ", and ";
    out += name + ": ";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + values[i];
  }
  return out;
}

std::string SearchText(const Product& p) {
  return Utf8Lower(p.title + " " + p.description + " " + (p.bullet_points.empty() ? "" : p.bullet_points[0]) + " " +
                   OptionText(p));
}

Result<SplitRule> ParseSplitRule(const std::string& s) {
  if (s == "webshop") return SplitRule::kWebShop;
  if (s == "mem1") return SplitRule::kMem1;
  return InvalidArgument("splits: expected webshop or mem1, got \"" + s + "\"");
}

Result<Split> ParseSplit(const std::string& s) {
  if (s == "train") return Split::kTrain;
  if (s == "dev") return Split::kDev;
  if (s == "test") return Split::kTest;
  if (s == "all") return Split::kAll;
  return InvalidArgument("split: expected train, dev, test or all, got \"" + s + "\"");
}

std::vector<size_t> SplitGoals(size_t n, Split split, SplitRule rule) {
  size_t test_end = 500, dev_end = 1500;
  if (rule == SplitRule::kMem1) {
    if (n < 1000) test_end = std::min(n, std::max<size_t>(1, n / 10));
    dev_end = test_end;  // no dev goals
  } else if (n < 2000) {
    test_end = std::min(n, std::max<size_t>(1, n / 10));
    dev_end = std::min(n, test_end + std::max<size_t>(1, n / 10));
  }
  size_t b = 0, e = n;
  if (split == Split::kTest) e = test_end;
  if (split == Split::kDev) b = test_end, e = dev_end;
  if (split == Split::kTrain) b = dev_end;
  std::vector<size_t> out;
  for (size_t i = b; i < e && i < n; ++i) out.push_back(i);
  return out;
}

Status LoadCatalog(const CatalogOptions& o, Catalog* cat, CatalogReport* report) {
  *cat = Catalog();
  const std::vector<std::string> product_names = {"items_shuffle.json", "items_shuffle_1000.json"};
  const std::vector<std::string> attr_names = {"items_ins_v2.json", "items_ins_v2_1000.json"};
  report->products_file = FirstExisting(o.data_dir, product_names);
  if (report->products_file.empty()) {
    return NotFound(o.data_dir + ": no product file (" + JoinNames(product_names) + "); generate one with `mem1 datagen webshop`");
  }
  report->attributes_file = FirstExisting(o.data_dir, attr_names);
  if (report->attributes_file.empty()) return NotFound(o.data_dir + ": no attribute file (" + JoinNames(attr_names) + ")");
  if (o.human_goals) {
    report->human_file = FirstExisting(o.data_dir, {"items_human_ins.json"});
    if (report->human_file.empty()) {
      return NotFound(o.data_dir + ": no items_human_ins.json (needed for human goals; set env.webshop.human_goals: false "
                      "to use synthetic goals)");
    }
  }
  // Attributes (and synthetic instructions), keyed by asin.
  struct AttrRecord {
    std::vector<std::string> attributes;
    bool has_attributes = false;  // the key is present (an empty list stays empty, as WebShop)
    bool has_instruction = false;
    std::string instruction;
    std::vector<std::string> instruction_attributes;
  };
  std::unordered_map<std::string, AttrRecord> attrs;
  int64_t attr_index = 0;
  MEM1_RETURN_IF_ERROR(StreamJson(report->attributes_file, false, [&](const std::string& asin, ojson&& v) {
    ++attr_index;
    ++report->goals.lines;
    const std::string where = report->attributes_file + ": record \"" + asin + "\"";
    if (!v.is_object()) return report->goals.AddError(where, "not a JSON object");
    AttrRecord r;
    std::string e;
    if (v.contains("attributes")) {
      if (!(e = GetStringList(v, "attributes", &r.attributes)).empty()) return report->goals.AddError(where, e);
      r.has_attributes = true;
    }
    if (v.contains("instruction") && !v["instruction"].is_null()) {
      if (!(e = GetString(v, "instruction", &r.instruction)).empty()) return report->goals.AddError(where, e);
      r.has_instruction = true;
      if (v.contains("instruction_attributes") && !v["instruction_attributes"].is_null() &&
          !(e = GetStringList(v, "instruction_attributes", &r.instruction_attributes)).empty()) {
        return report->goals.AddError(where, e);
      }
    }
    ++report->goals.loaded;
    attrs[asin] = std::move(r);
  }));
  // Human instructions.
  struct HumanIns {
    std::string instruction;
    std::vector<std::string> attributes, options;
  };
  std::unordered_map<std::string, std::vector<HumanIns>> human;
  if (o.human_goals) {
    MEM1_RETURN_IF_ERROR(StreamJson(report->human_file, false, [&](const std::string& asin, ojson&& v) {
      const std::string where = report->human_file + ": record \"" + asin + "\"";
      if (!v.is_array()) return report->goals.AddError(where, "not a list of instructions");
      for (const auto& ins : v) {
        ++report->goals.lines;
        HumanIns h;
        std::string e;
        if (!ins.is_object()) {
          report->goals.AddError(where, "an instruction is not a JSON object");
          continue;
        }
        if (!(e = GetString(ins, "instruction", &h.instruction)).empty() ||
            !(e = GetStringList(ins, "instruction_attributes", &h.attributes)).empty() ||
            !(e = GetStringList(ins, "instruction_options", &h.options)).empty()) {
          report->goals.AddError(where, e);
          continue;
        }
        ++report->goals.loaded;
        human[asin].push_back(std::move(h));
      }
    }));
  }
  // Products (streamed).
  struct GoalSource {
    size_t product;
    std::vector<HumanIns> human;
    AttrRecord synth;
  };
  std::vector<GoalSource> sources;
  int64_t index = -1;
  MEM1_RETURN_IF_ERROR(StreamJson(report->products_file, true, [&](const std::string&, ojson&& v) {
    ++index;
    if (o.max_products >= 0 && index >= o.max_products) return;
    ++report->products.lines;
    Product p;
    const std::string e = ParseProduct(v, &p);
    const std::string where = report->products_file + ": product #" + std::to_string(index) +
                              (p.asin.empty() ? "" : " (asin " + p.asin + ")");
    if (!e.empty()) return report->products.AddError(where, e);
    if (p.asin == "nan" || p.asin.size() > 10) {
      ++report->bad_asins;
      return report->products.AddError(where, "asin is \"nan\" or longer than 10 characters");
    }
    if (cat->by_asin.count(p.asin)) {
      ++report->duplicates;
      return report->products.AddError(where, "repeated asin");
    }
    auto a = attrs.find(p.asin);
    if (a != attrs.end() && a->second.has_attributes) {
      p.attributes = a->second.attributes;
    } else {
      p.attributes = {"DUMMY_ATTR"};
    }
    GoalSource src{cat->products.size(), {}, {}};
    if (o.human_goals) {
      auto h = human.find(p.asin);
      if (h != human.end()) src.human = h->second;
    } else if (a != attrs.end()) {
      src.synth = a->second;
    }
    if (!src.human.empty() || src.synth.has_instruction) sources.push_back(std::move(src));
    cat->by_asin[p.asin] = cat->products.size();
    cat->products.push_back(std::move(p));
    ++report->products.loaded;
  }));
  // Prices.
  std::mt19937_64 rng(o.seed);
  cat->prices.reserve(cat->products.size());
  for (const auto& p : cat->products) {
    if (p.pricing.empty()) {
      cat->prices.push_back(100.0);
    } else if (p.pricing.size() == 1) {
      cat->prices.push_back(p.pricing[0]);
    } else {
      cat->prices.push_back(std::uniform_real_distribution<double>(p.pricing[0], p.pricing[1])(rng));
    }
  }
  auto price_limit = [&](double price, double* upper) -> std::string {
    std::vector<double> range;
    for (int i = 1; i < 100 && range.size() < 4; ++i) if (10.0 * i > price) range.push_back(10.0 * i);
    if (range.size() < 2) {
      *upper = 1000000;
      return "";
    }
    const size_t a = std::uniform_int_distribution<size_t>(0, range.size() - 1)(rng);
    size_t b = std::uniform_int_distribution<size_t>(0, range.size() - 2)(rng);
    if (b >= a) ++b;
    *upper = std::max(range[a], range[b]);
    char buf[64];
    std::snprintf(buf, sizeof buf, ", and price lower than %.2f dollars", *upper);
    return buf;
  };
  // Goals.
  std::map<std::string, int64_t> att_count;
  for (const auto& src : sources) {
    const Product& p = cat->products[src.product];
    const double price = cat->prices[src.product];
    if (o.human_goals) {
      for (const auto& h : src.human) {
        if (h.attributes.empty()) {
          ++report->goals_without_attributes;
          continue;
        }
        Goal g{p.asin, p.category, p.query, p.name, p.product_category, "", h.attributes, 1e6, h.options, {}, 1.0};
        const std::string price_text = price_limit(price, &g.price_upper);
        g.instruction_text = StripChars(h.instruction, '.') + price_text;
        cat->goals.push_back(std::move(g));
      }
    } else {
      if (src.synth.instruction_attributes.empty()) {
        ++report->goals_without_attributes;
        continue;
      }
      double upper = 1e6;
      const std::string price_text = price_limit(price, &upper);
      std::vector<std::pair<std::string, std::vector<std::string>>> groups = p.options;
      std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<size_t> idx(groups.size(), 0);
      bool empty_group = false;
      for (const auto& g : groups) empty_group |= g.second.empty();
      if (empty_group) continue;  // itertools.product over an empty group yields nothing
      while (true) {
        Goal g{p.asin, p.category, p.query, p.title, p.product_category, "", src.synth.instruction_attributes, upper, {}, {}, 1.0};
        std::string option_text;
        for (size_t k = 0; k < groups.size(); ++k) {
          g.goal_option_names.push_back(groups[k].first);
          g.goal_options.push_back(groups[k].second[idx[k]]);
          option_text += (k ? ", and " : "") + groups[k].first + ": " + groups[k].second[idx[k]];
        }
        g.instruction_text = src.synth.instruction + (option_text.empty() ? "" : " with " + option_text) + price_text;
        for (const auto& att : g.attributes) ++att_count[att];
        cat->goals.push_back(std::move(g));
        // itertools.product order: the last group varies fastest.
        int k = static_cast<int>(groups.size()) - 1;
        while (k >= 0) {
          if (++idx[k] < groups[k].second.size()) break;
          idx[k] = 0;
          --k;
        }
        if (k < 0) break;
      }
    }
  }
  if (!o.human_goals) {
    for (auto& g : cat->goals) {
      double w = 0;
      for (const auto& att : g.attributes) w += 1.0 / static_cast<double>(att_count[att]);
      g.weight = w / static_cast<double>(g.attributes.size());
    }
  }
  // web_agent_text_env.py SimServer: random.seed(233); random.shuffle(self.goals) -- with
  // CPython's generator, so goal i here is WebShop's (and MEM1's) goal i.
  PyRandom shuffle_rng(o.seed);
  shuffle_rng.Shuffle(&cat->goals);
  return Status::Ok();
}

}  // namespace mem1::webshop
