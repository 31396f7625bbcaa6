"""Small hand-written word lists: names, streets, cities, product words, review phrases.

Kept tiny and in code so the simulator needs no data files and no faker.
"""

from __future__ import annotations

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Margaret",
    "Anthony", "Sandra", "Mark", "Ashley", "Steven", "Kimberly", "Andrew", "Emily", "Joshua",
    "Donna", "Kenneth", "Michelle", "Kevin", "Carol", "Brian", "Amanda", "Maria", "Jose",
    "Luis", "Sofia", "Wei", "Mei", "Priya", "Raj", "Aisha", "Omar", "Chloe", "Noah", "Olivia",
    "Liam", "Emma", "Ava", "Mia", "Lucas", "Ethan", "Isabella", "Zoe", "Hannah", "Grace",
)
NICKNAMES = {
    "James": "Jim", "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Richard": "Rick",
    "Joseph": "Joe", "Thomas": "Tom", "Charles": "Chuck", "Christopher": "Chris",
    "Daniel": "Dan", "Matthew": "Matt", "Margaret": "Maggie", "Anthony": "Tony",
    "Steven": "Steve", "Andrew": "Andy", "Joshua": "Josh", "Kenneth": "Ken",
    "Michael": "Mike", "Jennifer": "Jen", "Patricia": "Pat", "Kimberly": "Kim",
    "Jessica": "Jess", "Susan": "Sue", "David": "Dave", "Isabella": "Bella",
}
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Chen", "Patel", "Kim", "Singh",
    "O'Brien", "McCarthy", "Schmidt", "Muller", "Rossi", "Cohen", "Ali", "Khan", "Wang",
)
STREETS = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Sunset", "Lincoln", "Jackson", "Church", "Highland", "River", "Meadow", "Forest",
    "Spring", "Ridge", "Walnut", "Chestnut", "Willow", "Franklin", "Madison", "Jefferson",
)
STREET_TYPES = (("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Boulevard", "Blvd"),
                ("Drive", "Dr"), ("Lane", "Ln"), ("Court", "Ct"), ("Place", "Pl"))
EMAIL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com",
                 "hotmail.com", "icloud.com", "aol.com", "proton.me")

# (city, state, zip prefix, IANA time zone, shipping zone)
CITIES = (
    ("New York", "NY", "100", "America/New_York", "NE"),
    ("Boston", "MA", "021", "America/New_York", "NE"),
    ("Philadelphia", "PA", "191", "America/New_York", "NE"),
    ("Atlanta", "GA", "303", "America/New_York", "SE"),
    ("Miami", "FL", "331", "America/New_York", "SE"),
    ("Chicago", "IL", "606", "America/Chicago", "MW"),
    ("Dallas", "TX", "752", "America/Chicago", "SC"),
    ("Houston", "TX", "770", "America/Chicago", "SC"),
    ("Denver", "CO", "802", "America/Denver", "MT"),
    ("Phoenix", "AZ", "850", "America/Phoenix", "MT"),
    ("Seattle", "WA", "981", "America/Los_Angeles", "NW"),
    ("Portland", "OR", "972", "America/Los_Angeles", "NW"),
    ("San Francisco", "CA", "941", "America/Los_Angeles", "W"),
    ("Los Angeles", "CA", "900", "America/Los_Angeles", "W"),
    ("Minneapolis", "MN", "554", "America/Chicago", "MW"),
    ("Columbus", "OH", "432", "America/New_York", "MW"),
)
WAREHOUSE_CITIES = (
    ("Columbus", "OH", "432", "America/New_York", "MW"),
    ("Reno", "NV", "895", "America/Los_Angeles", "W"),
    ("Memphis", "TN", "381", "America/Chicago", "SE"),
    ("Allentown", "PA", "181", "America/New_York", "NE"),
    ("Fort Worth", "TX", "761", "America/Chicago", "SC"),
)
ZONES = ("NE", "SE", "MW", "SC", "MT", "NW", "W")
ZONE_NAMES = {"NE": "Northeast", "SE": "Southeast", "MW": "Midwest", "SC": "South Central",
              "MT": "Mountain", "NW": "Northwest", "W": "West"}
# rough position of each zone on a line-ish map, for distances between zones
ZONE_POS = {"NE": (0, 0), "SE": (1, 2), "MW": (2, 0), "SC": (3, 2), "MT": (4, 1),
            "NW": (6, 0), "W": (6, 2)}
STATE_TZ = {c[1]: c[3] for c in CITIES + WAREHOUSE_CITIES}

# category -> (subcategories, price median, yearly amplitude, peak day of year, weekend lift)
CATEGORIES = {
    "apparel": (("tops", "pants", "jackets", "dresses"), 40.0, 0.25, 330, 1.2),
    "footwear": (("sneakers", "boots", "sandals"), 70.0, 0.2, 300, 1.2),
    "outdoor": (("tents", "backpacks", "camping"), 90.0, 0.6, 170, 1.4),
    "home": (("bedding", "decor", "lighting"), 45.0, 0.2, 20, 1.1),
    "kitchen": (("cookware", "utensils", "appliances"), 55.0, 0.25, 340, 1.1),
    "electronics": (("headphones", "chargers", "speakers"), 80.0, 0.5, 345, 1.1),
    "toys": (("puzzles", "games", "plush"), 25.0, 0.8, 350, 1.3),
    "beauty": (("skincare", "haircare", "fragrance"), 22.0, 0.15, 45, 1.1),
    "sports": (("fitness", "cycling", "running"), 60.0, 0.4, 10, 1.2),
    "garden": (("tools", "planters", "seeds"), 30.0, 0.7, 110, 1.5),
}
BRANDS = ("Acme", "Northwind", "Blue Fern", "Summit", "Kestrel", "Lumen", "Harbor & Co",
          "Pioneer", "Nimbus", "Evergreen", "Atlas", "Copperline", "Juniper", "Orbit")
ADJECTIVES = ("Classic", "Ultra", "Everyday", "Pro", "Lite", "Deluxe", "Eco", "Urban",
              "Compact", "Premium", "Essential", "Trail", "Cozy", "Smart")
SUPPLIER_WORDS = ("Global", "Pacific", "Atlantic", "United", "Prime", "Golden", "Eastern",
                  "Western", "Allied", "Superior", "Crown", "Delta")
SUPPLIER_COUNTRIES = ("US", "US", "CN", "VN", "MX", "DE", "IN", "CA")

REVIEW_TITLES = {
    1: ("Terrible", "Very disappointed", "Do not buy", "Waste of money"),
    2: ("Not great", "Disappointing", "Expected better", "Meh"),
    3: ("It's okay", "Average", "Does the job", "Mixed feelings"),
    4: ("Pretty good", "Nice product", "Happy with it", "Good value"),
    5: ("Love it!", "Excellent", "Perfect", "Best purchase this year"),
}
REVIEW_BODIES = {
    1: ("Broke after two days and support was no help.",
        "Cheap materials, nothing like the photos. Returning it.",
        "Arrived damaged and does not work at all. Awful."),
    2: ("Quality is poor for the price, would not buy again.",
        "Works sometimes but feels flimsy and badly made.",
        "Smaller than described and the finish is rough."),
    3: ("It is fine, nothing special. Does what it says.",
        "Decent but a bit overpriced for what you get.",
        "Okay quality, shipping took a while."),
    4: ("Good quality and arrived quickly. Would recommend.",
        "Really nice, just a small issue with the packaging.",
        "Solid product, works well for everyday use."),
    5: ("Absolutely love it, great quality and fast delivery!",
        "Excellent product, exceeded my expectations. Highly recommend!",
        "Perfect, exactly as described. Will buy again!"),
}
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
)
SEARCH_WORDS = ("gift", "sale", "new", "best", "cheap", "black", "large", "kids", "men",
                "women", "organic", "wireless", "waterproof")
