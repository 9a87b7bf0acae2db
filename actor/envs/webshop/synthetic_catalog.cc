#include "actor/envs/webshop/synthetic_catalog.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace mem1::webshop {
namespace {

using ojson = nlohmann::ordered_json;

struct GroupSpec {
  const char* name;
  std::vector<const char*> values;
};

struct TypeSpec {
  const char* noun;   // product type as it appears in titles ("shampoo")
  const char* query;  // WebShop's scrape query
  const char* path;   // product_category
  std::vector<const char*> attributes;
  std::vector<GroupSpec> groups;
  double price_lo, price_hi;
  std::vector<const char*> uses;  // "for ..." phrases
};

struct CategorySpec {
  const char* name;
  std::vector<TypeSpec> types;
};

const GroupSpec kApparelColor{"color", {"black", "white", "navy blue", "heather grey", "red", "olive green", "burgundy", "khaki"}};
const GroupSpec kApparelSize{"size", {"small", "medium", "large", "x-large", "xx-large", "3x-large"}};
const GroupSpec kShoeSize{"size", {"6", "7", "8", "8.5", "9", "10", "11", "12"}};
const GroupSpec kTechColor{"color", {"black", "white", "silver", "rose gold", "midnight blue", "space gray"}};
const GroupSpec kHomeColor{"color", {"walnut", "white", "black", "natural oak", "grey", "espresso"}};

const std::vector<CategorySpec>& Categories() {
  static const std::vector<CategorySpec> kCats = {
      {"beauty",
       {{"shampoo", "shampoo", "Beauty & Personal Care › Hair Care › Shampoo & Conditioner › Shampoos",
         {"sulfate free", "paraben free", "natural ingredients", "dry hair", "hair growth", "cruelty free", "color treated"},
         {{"scent", {"lavender", "coconut", "tea tree", "citrus", "unscented", "rosemary mint"}},
          {"size", {"8 fl oz (pack of 1)", "12 fl oz (pack of 2)", "16.9 fl oz", "32 fl oz"}}},
         6, 38, {"dry hair", "curly hair", "daily use", "men and women"}},
        {"hair extensions", "hair extensions", "Beauty & Personal Care › Hair Care › Hair Extensions, Wigs & Accessories › Extensions",
         {"natural looking", "clip in", "heat resistant", "long lasting", "easy to apply", "synthetic hair"},
         {{"color", {"natural black", "dark brown", "ash blonde", "auburn", "ombre brown"}},
          {"size", {"14 inch", "18 inch", "20 inch", "22 inch", "24 inch"}}},
         12, 75, {"women", "daily wear", "parties"}},
        {"lipstick", "lipstick", "Beauty & Personal Care › Makeup › Lips › Lipstick",
         {"long lasting", "cruelty free", "matte finish", "moisturizing", "paraben free", "vegan"},
         {{"color", {"ruby red", "nude pink", "berry", "coral", "mauve", "classic red"}}},
         5, 29, {"women", "everyday wear", "sensitive lips"}},
        {"face moisturizer", "face moisturizer", "Beauty & Personal Care › Skin Care › Face › Creams & Moisturizers",
         {"sensitive skin", "fragrance free", "hyaluronic acid", "oil free", "anti aging", "dermatologist tested"},
         {{"size", {"1.7 ounce", "2.5 ounce", "4 ounce"}}}, 9, 59, {"dry skin", "sensitive skin", "all skin types"}},
        {"nail polish", "nail polish", "Beauty & Personal Care › Foot, Hand & Nail Care › Nail Art & Polish › Nail Polish",
         {"quick dry", "long lasting", "non toxic", "high gloss", "chip resistant"},
         {{"color", {"cherry red", "pastel pink", "navy", "glitter silver", "nude", "emerald green"}},
          {"size", {"0.5 fl oz", "pack of 3", "pack of 6"}}},
         4, 22, {"women", "salon use", "home manicure"}},
        {"deodorant", "deodorant", "Beauty & Personal Care › Personal Care › Deodorants & Antiperspirants › Deodorant",
         {"aluminum free", "natural ingredients", "long lasting", "sensitive skin", "baking soda free"},
         {{"scent", {"bright citrus", "calming lavender", "fresh cucumber", "unscented", "sandalwood"}},
          {"size", {"2.65 ounce", "3 ounce (pack of 2)", "travel set (4-pack)"}}},
         5, 24, {"men", "women", "sensitive skin"}}}},
      {"electronics",
       {{"wireless earbuds", "wireless earbuds", "Electronics › Headphones, Earbuds & Accessories › Headphones & Earbuds › Earbud Headphones",
         {"noise cancelling", "bluetooth 5.0", "long battery life", "water resistant", "fast charging", "built-in microphone"},
         {{"color", {"black", "white", "navy blue", "rose gold"}}}, 19, 129, {"running", "iphone and android", "workouts"}},
        {"phone case", "phone case", "Cell Phones & Accessories › Cases, Holsters & Sleeves › Basic Cases",
         {"shockproof", "slim fit", "wireless charging compatible", "scratch resistant", "raised edges"},
         {{"color", {"clear", "black", "midnight blue", "pink", "forest green"}},
          {"size", {"iphone 13", "iphone 13 pro", "iphone 14", "galaxy s22", "galaxy s23"}}},
         6, 35, {"iphone", "galaxy", "drop protection"}},
        {"hdmi cable", "hdmi cable", "Electronics › Accessories & Supplies › Audio & Video Accessories › Cables › HDMI Cables",
         {"high speed", "4k hdr", "gold plated", "braided nylon", "ethernet support"},
         {{"size", {"3 feet", "6 feet", "10 feet", "15 feet", "25 feet"}}, {"style", {"single", "2 pack", "5 pack"}}},
         5, 32, {"tv", "gaming consoles", "monitors"}},
        {"bluetooth speaker", "bluetooth speaker", "Electronics › Portable Audio & Video › Portable Speakers & Docks › Portable Bluetooth Speakers",
         {"waterproof", "long battery life", "deep bass", "portable", "stereo pairing", "built-in microphone"},
         {kTechColor}, 22, 149, {"outdoor", "home", "travel"}},
        {"usb charger", "usb wall charger", "Electronics › Computers & Accessories › Computer Accessories & Peripherals › Chargers & Adapters",
         {"fast charging", "dual port", "foldable plug", "usb c", "overcharge protection"},
         {{"color", {"white", "black"}}, {"style", {"20w", "30w", "65w", "2 pack"}}}, 8, 45, {"iphone", "laptops", "travel"}},
        {"smart watch band", "smart watch band", "Cell Phones & Accessories › Wearable Technology › Smartwatch Bands",
         {"quick release", "breathable", "adjustable", "sweat resistant", "soft silicone"},
         {{"color", {"black", "pink sand", "midnight", "starlight", "olive"}},
          {"size", {"38mm 40mm 41mm", "42mm 44mm 45mm"}}},
         6, 28, {"apple watch", "sports", "women and men"}}}},
      {"fashion",
       {{"t-shirt", "men's t-shirts", "Clothing, Shoes & Jewelry › Men › Clothing › Shirts › T-Shirts",
         {"machine wash", "cotton spandex", "short sleeve", "slim fit", "moisture wicking", "crew neck"},
         {kApparelColor, kApparelSize}, 9, 32, {"men", "gym", "everyday"}},
        {"sneakers", "women's sneakers", "Clothing, Shoes & Jewelry › Women › Shoes › Fashion Sneakers",
         {"non slip", "memory foam", "rubber sole", "breathable mesh", "lace up", "arch support"},
         {{"color", {"white", "black", "pink", "grey", "navy"}}, kShoeSize}, 25, 89, {"women", "walking", "running"}},
        {"jeans", "men's jeans", "Clothing, Shoes & Jewelry › Men › Clothing › Jeans",
         {"relaxed fit", "straight leg", "stretch denim", "button closure", "machine wash"},
         {{"color", {"dark wash", "light wash", "black", "stonewash blue"}},
          {"size", {"30w x 30l", "32w x 30l", "32w x 32l", "34w x 32l", "36w x 32l"}}},
         19, 69, {"men", "work", "casual wear"}},
        {"hoodie", "women's hoodies", "Clothing, Shoes & Jewelry › Women › Clothing › Active › Active Hoodies",
         {"long sleeve", "fleece lined", "drawstring closure", "kangaroo pocket", "loose fit", "machine wash"},
         {kApparelColor, kApparelSize}, 18, 55, {"women", "fall and winter", "lounging"}},
        {"dress", "women's dresses", "Clothing, Shoes & Jewelry › Women › Clothing › Dresses › Casual",
         {"short sleeve", "high waist", "a line", "v neck", "polyester spandex", "hand wash"},
         {{"color", {"floral blue", "black", "wine red", "leopard", "white"}}, kApparelSize}, 16, 60,
         {"women", "summer", "cocktail parties"}},
        {"socks", "men's socks", "Clothing, Shoes & Jewelry › Men › Clothing › Socks › Athletic Socks",
         {"cushioned", "moisture wicking", "arch compression", "breathable", "machine wash"},
         {{"color", {"black", "white", "grey", "assorted"}}, {"size", {"shoe size 6-9", "shoe size 9-12", "shoe size 12-15"}}},
         7, 25, {"men", "running", "hiking"}}}},
      {"food",
       {{"coffee beans", "whole bean coffee", "Grocery & Gourmet Food › Beverages › Coffee, Tea & Cocoa › Coffee › Whole Coffee Beans",
         {"usda organic", "fair trade", "medium roast", "dark roast", "non gmo", "single origin"},
         {{"flavor name", {"colombian", "french roast", "breakfast blend", "hazelnut", "decaf"}},
          {"size", {"12 ounce", "2 pound", "5 pound"}}},
         9, 48, {"espresso", "drip coffee", "cold brew"}},
        {"protein bars", "protein bars", "Grocery & Gourmet Food › Snack Foods › Bars › Protein Bars",
         {"gluten free", "high protein", "low sugar", "keto friendly", "non gmo", "plant based"},
         {{"flavor name", {"chocolate peanut butter", "cookies and cream", "birthday cake", "salted caramel", "mint chocolate"}},
          {"size", {"12 count (pack of 1)", "15 count", "24 count (pack of 2)"}}},
         14, 45, {"snacks", "post workout", "breakfast"}},
        {"green tea", "green tea", "Grocery & Gourmet Food › Beverages › Coffee, Tea & Cocoa › Tea › Green",
         {"usda organic", "caffeine free", "non gmo", "sugar free", "kosher"},
         {{"flavor name", {"jasmine", "matcha", "lemon ginger", "peppermint", "original"}},
          {"size", {"20 count (pack of 6)", "100 count", "40 count"}}},
         5, 28, {"daily wellness", "iced tea", "relaxing"}},
        {"beef jerky", "beef jerky", "Grocery & Gourmet Food › Meat & Seafood › Jerky & Dried Meats › Beef Jerky",
         {"high protein", "low fat", "gluten free", "grass fed", "no preservatives"},
         {{"flavor name", {"original", "teriyaki", "peppered", "sweet and hot", "smoked"}},
          {"size", {"2.85 ounce (pack of 4)", "10 ounce", "1 pound"}}},
         8, 40, {"snacks", "hiking", "road trips"}},
        {"dark chocolate", "dark chocolate bar", "Grocery & Gourmet Food › Candy & Chocolate › Chocolate › Chocolate Bars",
         {"fair trade", "dairy free", "vegan", "sugar free", "usda organic", "gluten free"},
         {{"flavor name", {"sea salt", "almond", "70% cacao", "85% cacao", "orange"}},
          {"size", {"3 ounce (pack of 4)", "3.5 ounce (pack of 12)"}}},
         6, 42, {"gifts", "baking", "snacking"}},
        {"olive oil", "extra virgin olive oil", "Grocery & Gourmet Food › Pantry Staples › Cooking Oils, Vinegars & Sprays › Oils › Olive",
         {"extra virgin", "cold pressed", "non gmo", "first cold press", "kosher"},
         {{"size", {"16.9 fl oz", "25.3 fl oz", "33.8 fl oz (pack of 2)", "1 gallon"}}}, 9, 55,
         {"cooking", "salads", "dipping"}}}},
      {"furniture",
       {{"office chair", "office chair", "Home & Kitchen › Furniture › Home Office Furniture › Home Office Chairs › Desk Chairs",
         {"lumbar support", "height adjustable", "easy assemble", "breathable mesh", "swivel wheels", "padded armrests"},
         {{"color", {"black", "grey", "white", "blue"}}, {"style", {"mesh", "leather", "fabric"}}}, 59, 289,
         {"home office", "gaming", "long hours"}},
        {"bookshelf", "bookshelf", "Home & Kitchen › Furniture › Living Room Furniture › Bookcases",
         {"easy assemble", "solid wood", "space saving", "anti tip", "metal frame"},
         {kHomeColor, {"size", {"3 tier", "4 tier", "5 tier"}}}, 39, 199, {"living room", "bedroom", "office"}},
        {"coffee table", "coffee table", "Home & Kitchen › Furniture › Living Room Furniture › Tables › Coffee Tables",
         {"storage shelf", "easy assemble", "solid wood", "lift top", "metal legs"},
         {kHomeColor}, 49, 249, {"living room", "small spaces", "apartments"}},
        {"bed frame", "bed frame", "Home & Kitchen › Furniture › Bedroom Furniture › Beds, Frames & Bases › Bed Frames",
         {"no box spring needed", "noise free", "under bed storage", "heavy duty", "easy assemble"},
         {{"color", {"black", "white", "grey", "brown"}}, {"size", {"twin", "full", "queen", "king"}}}, 89, 399,
         {"bedroom", "guest room", "kids room"}},
        {"floor lamp", "floor lamp", "Home & Kitchen › Furniture › Lighting › Floor Lamps",
         {"dimmable", "energy efficient", "remote control", "led bulb included", "modern design"},
         {{"color", {"black", "gold", "white", "brushed nickel"}}}, 29, 149, {"living room", "reading", "bedroom"}},
        {"bar stool", "bar stools", "Home & Kitchen › Furniture › Game & Recreation Room Furniture › Home Bar Furniture › Barstools",
         {"set of 2", "swivel seat", "back support", "height adjustable", "easy assemble", "footrest"},
         {{"color", {"black", "brown", "grey", "white"}}, {"size", {"24 inch", "26 inch", "30 inch"}}}, 69, 259,
         {"kitchen island", "pub", "counter"}}}}};
  return kCats;
}

const std::vector<const char*> kBrands = {"Lumora", "Northvale", "Kestrel", "Aurelio", "Brightfield", "Cobaltix",
                                          "Evermay", "Halcyon", "Juniper & Co", "Maplecrest", "Novarra", "Oakhurst",
                                          "Pinecove", "Quillon", "Rivetta", "Solenne", "Tidewell", "Verdana Home",
                                          "Westbrook", "Zephyra"};
const std::vector<const char*> kQualities = {"Premium", "Classic", "Everyday", "Deluxe", "Essential", "Pro",
                                             "Signature", "Original"};

std::string Capitalize(const std::string& s) {
  std::string out = s;
  bool start = true;
  for (char& c : out) {
    if (start && std::isalpha(static_cast<unsigned char>(c))) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    start = c == ' ' || c == '-' || c == '(';
  }
  return out;
}

std::string Money(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.2f", v);
  return buf;
}

template <typename T>
std::vector<T> Sample(const std::vector<T>& from, size_t n, std::mt19937_64& rng) {
  std::vector<T> v = from;
  std::shuffle(v.begin(), v.end(), rng);
  v.resize(std::min(n, v.size()));
  return v;
}

size_t Uniform(size_t lo, size_t hi, std::mt19937_64& rng) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); }

}  // namespace

Status WriteSyntheticCatalog(const SyntheticCatalogOptions& o, const std::string& out_dir,
                             SyntheticCatalogReport* report) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Internal(out_dir + ": cannot create directory: " + ec.message());
  std::ofstream items(out_dir + "/items_shuffle.json");
  if (!items) return Internal(out_dir + "/items_shuffle.json: cannot write");
  // All three files are written element by element (a 1M-key ordered_json object would cost
  // quadratic time: ordered_map looks keys up linearly).
  std::ofstream attrs(out_dir + "/items_ins_v2.json"), human(out_dir + "/items_human_ins.json");
  if (!attrs || !human) return Internal(out_dir + ": cannot write items_ins_v2.json / items_human_ins.json");
  attrs << "{\n";
  human << "{\n";
  std::mt19937_64 rng(o.seed);
  const auto& cats = Categories();
  items << "[\n";
  for (int64_t i = 0; i < o.products; ++i) {
    const CategorySpec& cat = cats[Uniform(0, cats.size() - 1, rng)];
    const TypeSpec& type = cat.types[Uniform(0, cat.types.size() - 1, rng)];
    // ASIN: "B0" + 8 base-36 digits of an affine bijection of the index (unique ids).
    static const char kAlnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    uint64_t code = (static_cast<uint64_t>(i) * 2654435761ULL + o.seed * 40503ULL + 12345ULL) % 2821109907456ULL;  // 36^8
    std::string id = "B0";
    std::string digits(8, '0');
    for (int k = 7; k >= 0; --k, code /= 36) digits[k] = kAlnum[code % 36];
    id += digits;
    const std::vector<const char*> attributes = Sample(type.attributes, Uniform(2, 4, rng), rng);
    const std::string brand = kBrands[Uniform(0, kBrands.size() - 1, rng)];
    const std::string quality = kQualities[Uniform(0, kQualities.size() - 1, rng)];
    const std::string use = type.uses[Uniform(0, type.uses.size() - 1, rng)];
    // Option groups: a random non-empty subset of the type's groups, each with 2-6 values.
    std::vector<GroupSpec> groups;
    for (const auto& g : type.groups) {
      if (groups.empty() || Uniform(0, 3, rng) > 0) groups.push_back({g.name, Sample(g.values, Uniform(2, 6, rng), rng)});
    }
    std::string name = brand + " " + quality + " " + Capitalize(type.noun) + " for " + Capitalize(use) + ", " +
                       Capitalize(attributes[0]);
    // As on Amazon, a title names only some attributes (1 or 2); the rest are only in the
    // description, the bullet points and the attribute list.
    const size_t in_title = std::min<size_t>(attributes.size(), Uniform(1, 2, rng));
    for (size_t k = 1; k < in_title; ++k) name += " and " + Capitalize(attributes[k]);
    std::string description = brand + "'s " + quality + " " + type.noun + " is made for " + use + ". It is ";
    for (size_t k = 0; k < attributes.size(); ++k) description += (k ? (k + 1 == attributes.size() ? " and " : ", ") : "") + std::string(attributes[k]);
    description += ". Backed by our satisfaction guarantee: if you are not happy, contact us for a refund.";
    ojson bullets = ojson::array();
    for (size_t k = 0; k < attributes.size(); ++k) {
      bullets.push_back(Capitalize(attributes[k]) + ": designed for " + use + ", tested for everyday " + type.noun + " use.");
    }
    bullets.push_back("What you get: one " + std::string(type.noun) + " from " + brand + ", ready to use.");
    const double base = type.price_lo + (type.price_hi - type.price_lo) * std::uniform_real_distribution<double>(0, 1)(rng);
    std::string pricing;
    if (Uniform(0, 4, rng) == 0) {
      pricing = Money(base) + " - " + Money(base * (1.1 + 0.3 * std::uniform_real_distribution<double>(0, 1)(rng)));
    } else {
      pricing = Money(base);
    }
    ojson options = ojson::object();
    for (const auto& g : groups) {
      ojson vals = ojson::array();
      for (const char* v : g.values) {
        vals.push_back({{"value", Capitalize(v)}, {"image", nullptr}});
      }
      options[Capitalize(g.name)] = vals;
    }
    ojson p = {{"name", name},
               {"full_description", description},
               {"pricing", pricing},
               {"images", ojson::array({"https://example.invalid/images/" + id + ".jpg"})},
               {"product_category", type.path},
               {"average_rating", nullptr},
               {"small_description", bullets},
               {"model", nullptr},
               {"customization_options", groups.empty() ? ojson(nullptr) : options},
               {"seller_id", nullptr},
               {"seller_name", nullptr},
               {"fulfilled_by_amazon", nullptr},
               {"fast_track_message", nullptr},
               {"aplus_present", nullptr},
               {"small_description_old", nullptr},
               {"category", cat.name},
               {"query", type.query},
               {"page", 1 + (i % 10)},
               {"asin", id},
               {"product_information", ojson::object()},
               {"brand", brand},
               {"brand_url", nullptr}};
    items << (i ? ",\n" : "") << p.dump();
    // items_ins_v2: attributes + a synthetic instruction.
    const std::vector<const char*> ins_attrs = Sample(attributes, Uniform(1, 2, rng), rng);
    std::string synth = "i need " + std::string(ins_attrs[0]) + " " + type.noun;
    if (ins_attrs.size() > 1) synth += " that is " + std::string(ins_attrs[1]);
    ojson rec = {{"product_category", type.path}, {"query", type.query}, {"name", name}, {"attributes", ojson::array()},
                 {"instruction", synth}, {"instruction_attributes", ojson::array()}};
    for (const char* a : attributes) rec["attributes"].push_back(a);
    for (const char* a : ins_attrs) rec["instruction_attributes"].push_back(a);
    attrs << (i ? ",\n" : "") << ojson(id).dump() << ": " << rec.dump();
    // items_human_ins: 1 (sometimes 2) human-style instructions.
    ojson list = ojson::array();
    const size_t n_ins = Uniform(0, 9, rng) == 0 ? 2 : 1;
    for (size_t k = 0; k < n_ins; ++k) {
      const bool no_attr = Uniform(0, 32, rng) == 0;
      const std::vector<const char*> h_attrs = no_attr ? std::vector<const char*>{} : Sample(attributes, Uniform(1, 2, rng), rng);
      ojson h_opts = ojson::array();
      std::string opt_text;
      for (const auto& g : groups) {
        if (Uniform(0, 4, rng) == 0) continue;  // not every group is asked for
        const std::string v = g.values[Uniform(0, g.values.size() - 1, rng)];
        h_opts.push_back(v);
        opt_text += (opt_text.empty() ? "" : " and ") + (std::string(g.name) == "size" ? "in size " + v : v + " " + g.name);
      }
      static const std::vector<const char*> kOpen = {"i am looking for", "i need", "i want to buy", "find me",
                                                     "i would like", "please get me"};
      std::string text = std::string(kOpen[Uniform(0, kOpen.size() - 1, rng)]) + " ";
      text += h_attrs.empty() ? std::string("a ") + type.noun : std::string(h_attrs[0]) + " " + type.noun;
      if (h_attrs.size() > 1) text += " that is " + std::string(h_attrs[1]);
      if (Uniform(0, 2, rng) == 0) text += " for " + use;
      if (!opt_text.empty()) text += ", " + opt_text;
      ojson h = {{"asin", id}, {"instruction", text}, {"instruction_attributes", ojson::array()},
                 {"instruction_options", h_opts}, {"assignment_id", "synthetic"}, {"worker_id", "synthetic"}};
      for (const char* a : h_attrs) h["instruction_attributes"].push_back(a);
      list.push_back(h);
      ++report->human_instructions;
    }
    human << (i ? ",\n" : "") << ojson(id).dump() << ": " << list.dump();
    ++report->products;
  }
  items << "\n]\n";
  if (!items) return Internal(out_dir + "/items_shuffle.json: write failed");
  attrs << "\n}\n";
  human << "\n}\n";
  if (!attrs || !human) return Internal(out_dir + ": write failed for items_ins_v2.json / items_human_ins.json");
  return Status::Ok();
}

}  // namespace mem1::webshop
