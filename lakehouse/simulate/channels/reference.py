"""Reference documents: catalog export, locations (+ zones and shipping rates), suppliers,
promotions calendar. Written once at the start, never faulted."""

from __future__ import annotations

import json

from lakehouse.simulate import names, timefmt
from lakehouse.simulate.delivery import Landing, csv_line
from lakehouse.simulate.locations import Location, Rate
from lakehouse.simulate.marketing import Promotion
from lakehouse.simulate.products import CATEGORY_NAMES, Catalog


def write_reference(landing: Landing, t: float, catalog: Catalog, locations: list[Location],
                    rates: list[Rate], promos: list[Promotion]) -> None:
    stamp = timefmt.stamp(t)

    products = []
    for i in range(len(catalog)):
        products.append({
            "product_id": catalog.ids[i], "title": catalog.titles[i], "brand": catalog.brands[i],
            "category": CATEGORY_NAMES[catalog.category[i]],
            "subcategory": catalog.subcategory[i], "price": round(float(catalog.price[i]), 2),
            "cost": round(float(catalog.cost[i]), 2),
            "supplier_id": catalog.suppliers[int(catalog.supplier[i])].sid,
            "web_variant_id": catalog.variant[i], "pos_sku": catalog.pos_sku[i],
            "wms_item_code": catalog.wms_code[i],
            "launched_on": timefmt.date_str(int(catalog.launched[i])),
            "status": "discontinued" if catalog.discontinued[i] else "active",
        })
    doc = {"exported_at": timefmt.iso(t), "products": products}
    landing.document("catalog", "products", f"products_{stamp}_000.json",
                     json.dumps(doc, indent=1).encode(), len(products), t)

    locs = [{"location_code": loc.code, "type": loc.kind, "name": loc.name,
             "region": loc.state, "zone": loc.zone, "timezone": loc.tz,
             "ship_capacity_per_day": loc.capacity, "opened_on": loc.opened_on.isoformat()}
            for loc in locations]
    zones = [{"zone": z, "name": names.ZONE_NAMES[z],
              "states": sorted({c[1] for c in names.CITIES + names.WAREHOUSE_CITIES
                                if c[4] == z})} for z in names.ZONES]
    rate_rows = [{"rate_id": r.rate_id, "from_zone": r.from_zone, "to_zone": r.to_zone,
                  "service": r.service, "cost": r.cost, "days": r.days} for r in rates]
    doc = {"exported_at": timefmt.iso(t), "locations": locs, "zones": zones, "rates": rate_rows}
    landing.document("locations", "locations", f"locations_{stamp}_000.json",
                     json.dumps(doc, indent=1).encode(), len(locs), t)

    lines = ["supplier_id,name,country,lead_time_days"]
    lines += [csv_line([s.sid, s.name, s.country, s.lead_days]) for s in catalog.suppliers]
    landing.document("suppliers", "suppliers", f"suppliers_{stamp}_000.csv",
                     ("\n".join(lines) + "\n").encode(), len(catalog.suppliers), t)

    lines = ["promo_id,name,category,discount_pct,start_date,end_date,channels,code"]
    for p in promos:
        lines.append(csv_line([
            p.promo_id, p.name, "" if p.category < 0 else CATEGORY_NAMES[p.category],
            f"{p.discount_pct:.1f}", timefmt.date_str(p.start), timefmt.date_str(p.end),
            ";".join(p.channels), p.code]))
    landing.document("promotions", "promotions", f"promotions_{stamp}_000.csv",
                     ("\n".join(lines) + "\n").encode(), len(promos), t)

