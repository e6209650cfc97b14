"""The data of `zshbench.pretraining`: dataset classes mapped by hand to WordNet 3.0 synsets (`CLASS_SYNSETS`) and
the overlap table generated from them (`OVERLAPS`, by `zshbench.pretraining.derive_overlaps`). Data only; how it
was made and checked is in `zshbench.pretraining`'s docstring.

This module is longer than 450 lines because it is a data table (one entry per dataset class and label set),
not code; splitting it would only scatter the table.
"""

from __future__ import annotations

__all__ = ["CLASS_SYNSETS", "OVERLAPS"]

# ---- dataset classes -> WordNet 3.0 synsets (hand-checked; () = no WordNet synset for the class) --------------
CLASS_SYNSETS: dict[str, dict[str, tuple[str, ...]]] = {
    "awa2": {
        "antelope": ("n02419796",),
        "grizzly+bear": ("n02132580",),
        "killer+whale": ("n02071294",),
        "beaver": ("n02363005",),
        "dalmatian": ("n02110341",),
        "persian+cat": ("n02123394",),
        "horse": ("n02374451",),
        "german+shepherd": ("n02106662",),
        "blue+whale": ("n02064816",),
        "siamese+cat": ("n02123597",),
        "skunk": ("n02445715",),
        "mole": ("n01889520",),
        "tiger": ("n02129604",),
        "hippopotamus": ("n02398521",),
        "leopard": ("n02128385",),
        "moose": ("n02432983",),
        "spider+monkey": ("n02493793",),
        "humpback+whale": ("n02065726",),
        "elephant": ("n02503517",),
        "gorilla": ("n02480855",),
        "ox": ("n02403003",),
        "fox": ("n02118333",),
        "sheep": ("n02411705",),
        "seal": ("n02076196",),
        "chimpanzee": ("n02481823",),
        "hamster": ("n02342885",),
        "squirrel": ("n02355227",),
        "rhinoceros": ("n02391994",),
        "rabbit": ("n02324045",),
        "bat": ("n02139199",),
        "giraffe": ("n02439033",),
        "wolf": ("n02114100",),
        "chihuahua": ("n02085620",),
        "rat": ("n02331046",),
        "weasel": ("n02441942",),
        "otter": ("n02444819",),
        "buffalo": ("n02407959",),
        "zebra": ("n02391049",),
        "giant+panda": ("n02510455",),
        "deer": ("n02430045",),
        "bobcat": ("n02127482",),
        "pig": ("n02395406",),
        "lion": ("n02129165",),
        "mouse": ("n02330245",),
        "polar+bear": ("n02134084",),
        "collie": ("n02106030",),
        "walrus": ("n02081571",),
        "raccoon": ("n02508021",),
        "cow": ("n02403454",),
        "dolphin": ("n02068974",),
    },
    "cifar10": {
        "airplane": ("n02691156",),
        "automobile": ("n02958343",),
        "bird": ("n01503061",),
        "cat": ("n02121808",),
        "deer": ("n02430045",),
        "dog": ("n02084071",),
        "frog": ("n01639765",),
        "horse": ("n02374451",),
        "ship": ("n04194289",),
        "truck": ("n04490091",),
    },
    # CUB species with a WordNet synset; every other CUB-200-2011 species has none (checked)
    "cub": {
        "001.Black_footed_Albatross": ("n02058747",),  # black-footed albatross, gooney, gooney bird,
        "010.Red_winged_Blackbird": ("n01575401",),  # red-winged blackbird, redwing, Agelaius phoen
        "011.Rusty_Blackbird": ("n01574801",),  # rusty blackbird, rusty grackle, Euphagus cari
        "013.Bobolink": ("n01573898",),  # bobolink, ricebird, reedbird, Dolichonyx oryz
        "014.Indigo_Bunting": ("n01537544",),  # indigo bunting, indigo finch, indigo bird, Pa
        "017.Cardinal": ("n01541386",),  # cardinal, cardinal grosbeak, Richmondena Card
        "019.Gray_Catbird": ("n01587526",),  # catbird, grey catbird, gray catbird, Dumetell
        "020.Yellow_breasted_Chat": ("n01569971",),  # yellow-breasted chat, Icteria virens
        "021.Eastern_Towhee": ("n01542168",),  # chewink, cheewink, Pipilo erythrophthalmus
        "022.Chuck_will_Widow": ("n01835918",),  # chuck-will's-widow, Caprimulgus carolinensis
        "028.Brown_Creeper": ("n01589718",),  # brown creeper, American creeper, Certhia amer
        "029.American_Crow": ("n01579149",),  # American crow, Corvus brachyrhyncos
        "031.Black_billed_Cuckoo": ("n01823740",),  # black-billed cuckoo, Coccyzus erythropthalmus
        "035.Purple_Finch": ("n01533000",),  # purple finch, Carpodacus purpureus
        "036.Northern_Flicker": (
            "n01839750",
            "n01840120",
        ),  # yellow-shafted flicker, Colaptes auratus, yel; red-shafted
        "041.Scissor_tailed_Flycatcher": ("n01555305",),  # scissortail, scissortailed flycatcher, Musciv
        "042.Vermilion_Flycatcher": ("n01550172",),  # vermillion flycatcher, firebird, Pyrocephalus
        "044.Frigatebird": ("n02052775",),  # frigate bird, man-of-war bird
        "045.Northern_Fulmar": ("n02060133",),  # fulmar, fulmar petrel, Fulmarus glacialis
        "047.American_Goldfinch": ("n01532325",),  # New World goldfinch, goldfinch, yellowbird, S
        "048.European_Goldfinch": ("n01531178",),  # goldfinch, Carduelis carduelis
        "050.Eared_Grebe": ("n02050586",),  # black-necked grebe, eared grebe, Podiceps nig
        "052.Pied_billed_Grebe": ("n02051059",),  # pied-billed grebe, Podilymbus podiceps
        "055.Evening_Grosbeak": ("n01540566",),  # evening grosbeak, Hesperiphona vespertina
        "056.Pine_Grosbeak": ("n01541102",),  # pine grosbeak, Pinicola enucleator
        "058.Pigeon_Guillemot": ("n02047045",),  # pigeon guillemot, Cepphus columba
        "062.Herring_Gull": ("n02042046",),  # herring gull, Larus argentatus
        "063.Ivory_Gull": ("n02042472",),  # ivory gull, Pagophila eburnea
        "073.Blue_Jay": ("n01580870",),  # blue jay, jaybird, Cyanocitta cristata
        "076.Dark_eyed_Junco": ("n01534582",),  # dark-eyed junco, slate-colored junco, Junco h
        "078.Gray_Kingbird": ("n01549053",),  # grey kingbird, gray kingbird, petchary, Tyran
        "079.Belted_Kingfisher": ("n01828096",),  # belted kingfisher, Ceryle alcyon
        "087.Mallard": ("n01847806",),  # mallard, Anas platyrhynchos
        "088.Western_Meadowlark": ("n01573360",),  # western meadowlark, Sturnella neglecta
        "089.Hooded_Merganser": ("n01855476",),  # hooded merganser, hooded sheldrake, Lophodyte
        "090.Red_breasted_Merganser": ("n01855032",),  # red-breasted merganser, Mergus serrator
        "091.Mockingbird": ("n01586941",),  # mockingbird, mocker, Mimus polyglotktos
        "092.Nighthawk": ("n01836384",),  # nighthawk, bullbat, mosquito hawk
        "093.Clark_Nutcracker": ("n01581984",),  # Clark's nutcracker, Nucifraga columbiana
        "094.White_breasted_Nuthatch": ("n01591301",),  # white-breasted nuthatch, Sitta carolinensis
        "095.Baltimore_Oriole": ("n01572489",),  # Baltimore oriole, Baltimore bird, hangbird, f
        "097.Orchard_Oriole": ("n01572782",),  # orchard oriole, Icterus spurius
        "099.Ovenbird": ("n01570267",),  # ovenbird, Seiurus aurocapillus
        "101.White_Pelican": ("n02052204",),  # white pelican, Pelecanus erythrorhynchos
        "102.Western_Wood_Pewee": ("n01549641",),  # western wood pewee, Contopus sordidulus
        "105.Whip_poor_Will": ("n01836087",),  # whippoorwill, Caprimulgus vociferus
        "106.Horned_Puffin": ("n02048115",),  # horned puffin, Fratercula corniculata
        "107.Common_Raven": ("n01579260",),  # raven, Corvus corax
        "109.American_Redstart": ("n01568294",),  # American redstart, redstart, Setophaga rutici
        "110.Geococcyx": ("n01824035",),  # roadrunner, chaparral cock, Geococcyx califor
        "111.Loggerhead_Shrike": ("n01599556",),  # loggerhead shrike, Lanius lucovicianus
        "112.Great_Grey_Shrike": ("n01599159",),  # European shrike, Lanius excubitor
        "116.Chipping_Sparrow": ("n01536035",),  # chipping sparrow, Spizella passerina
        "118.House_Sparrow": ("n01539925",),  # English sparrow, house sparrow, Passer domest
        "119.Field_Sparrow": ("n01536186",),  # field sparrow, Spizella pusilla
        "129.Song_Sparrow": ("n01536644",),  # song sparrow, Melospiza melodia
        "130.Tree_Sparrow": ("n01536334",),  # tree sparrow, Spizella arborea
        "131.Vesper_Sparrow": ("n01535140",),  # vesper sparrow, grass finch, Pooecetes gramin
        "132.White_crowned_Sparrow": ("n01535690",),  # white-crowned sparrow, Zonotrichia leucophrys
        "133.White_throated_Sparrow": ("n01535469",),  # white-throated sparrow, whitethroat, Zonotric
        "135.Bank_Swallow": ("n01596273",),  # bank martin, bank swallow, sand martin, Ripar
        "136.Barn_Swallow": ("n01594787",),  # barn swallow, chimney swallow, Hirundo rustic
        "137.Cliff_Swallow": ("n01594968",),  # cliff swallow, Hirundo pyrrhonota
        "138.Tree_Swallow": ("n01595450",),  # white-bellied swallow, tree swallow, Iridopro
        "139.Scarlet_Tanager": ("n01597737",),  # scarlet tanager, Piranga olivacea, redbird, f
        "140.Summer_Tanager": ("n01598074",),  # summer tanager, summer redbird, Piranga rubra
        "148.Green_tailed_Towhee": ("n01542433",),  # green-tailed towhee, Chlorura chlorura
        "149.Brown_Thrasher": ("n01588002",),  # brown thrasher, brown thrush, Toxostoma rufum
        "152.Blue_headed_Vireo": ("n01603152",),  # blue-headed vireo, Vireo solitarius solitariu
        "154.Red_eyed_Vireo": ("n01602832",),  # red-eyed vireo, Vireo olivaceous
        "163.Cape_May_Warbler": ("n01568720",),  # Cape May warbler, Dendroica tigrina
        "171.Myrtle_Warbler": ("n01569423",),  # myrtle warbler, myrtle bird, Dendroica corona
        "180.Wilson_Warbler": ("n01567879",),  # Wilson's warbler, Wilson's blackcap, Wilsonia
        "182.Yellow_Warbler": ("n01568892",),  # yellow warbler, golden warbler, yellowbird, D
        "185.Bohemian_Waxwing": ("n01603953",),  # Bohemian waxwing, Bombycilla garrulus
        "186.Cedar_Waxwing": ("n01603812",),  # cedar waxwing, cedarbird, Bombycilla cedrorun
        "191.Red_headed_Woodpecker": ("n01840775",),  # redheaded woodpecker, redhead, Melanerpes ery
        "192.Downy_Woodpecker": ("n01839330",),  # downy woodpecker
        "194.Cactus_Wren": ("n01586374",),  # cactus wren
        "195.Carolina_Wren": ("n01586020",),  # Carolina wren, Thryothorus ludovicianus
        "196.House_Wren": ("n01584853",),  # house wren, Troglodytes aedon
        "197.Marsh_Wren": ("n01585121",),  # marsh wren
        "198.Rock_Wren": ("n01585715",),  # rock wren, Salpinctes obsoletus
        "199.Winter_Wren": ("n01584695",),  # winter wren, Troglodytes troglodytes
        "200.Common_Yellowthroat": ("n01570839",),  # common yellowthroat, Maryland yellowthroat, G
    },
    # the 72 unseen classes of sun-zsh (xlsa17 PS); the place each scene shows
    "sun": {
        "airlock": ("n02690583",),
        "alley": ("n02697759",),
        "archive": ("n02735086",),
        "arena_basketball": ("n02802544",),  # basketball court
        "artists_loft": ("n02746683",),
        "auditorium": ("n02758134",),
        "ballroom": ("n02783324",),
        "bank_vault": ("n04523831",),
        "batting_cage_outdoor": ("n02811059",),
        "bazaar_indoor": ("n02813544",),  # bazaar: a shop where a variety of goods are sold
        "bazaar_outdoor": ("n02813645",),  # bazaar: a street of small shops
        "betting_shop": ("n02833140",),
        "bog": ("n09225943",),
        "bow_window_indoor": ("n02813399",),
        "brewery_indoor": ("n02897237",),
        "bus_depot_outdoor": ("n02926288",),
        "canal_natural": (),  # WordNet's canal is man-made
        "car_interior_frontseat": (),
        "casino_outdoor": ("n02977936",),
        "cemetery": ("n08521623",),
        "chemistry_lab": ("n03013718",),
        "church_indoor": ("n03028079",),
        "corral": ("n03124590",),
        "cubicle_office": (),
        "dirt_track": ("n03205760",),
        "doorway_indoor": ("n03224032",),
        "elevator_interior": ("n02960352",),  # elevator car
        "excavation": ("n08550076",),  # archeological site
        "exhibition_hall": ("n03303831",),
        "field_cultivated": ("n08569998",),
        "firing_range_indoor": ("n03349150",),
        "fishpond": ("n09280913",),
        "galley": ("n03412220", "n03412387"),  # ship's and airliner's galley
        "geodesic_dome_indoor": ("n03435593",),
        "hangar_indoor": ("n02687821",),
        "hoodoo": ("n13901055",),
        "hotel_room": ("n03542860",),
        "ice_shelf": ("n09432163",),
        "jacuzzi_indoor": ("n03543603",),  # hot tub
        "japanese_garden": (),
        "landing_deck": ("n03363216",),
        "lawn": ("n08591592",),
        "monastery_outdoor": ("n03781244",),
        "mosque_indoor": ("n03788195",),
        "motel": ("n03788498",),
        "nightclub": ("n02931417",),
        "observatory_outdoor": ("n03839671",),
        "parking_lot": ("n08615638",),
        "piano_store": (),
        "playground": ("n03963645",),
        "promenade_deck": ("n03549732",),
        "pub_indoor": ("n04018399",),
        "racecourse": ("n04037625",),
        "rectory": ("n03892557",),
        "sandbox": ("n04134339",),  # the children's sandbox
        "savanna": ("n08645847",),
        "ski_resort": ("n08652376",),
        "temple_south_asia": (),  # WordNet's temple is the superordinate place of worship
        "theater_indoor_seats": ("n04417809",),
        "ticket_booth": ("n02885882",),
        "trading_floor": ("n03366301",),
        "train_station_platform": (),
        "tundra": ("n09463226",),
        "tunnel_road_outdoor": ("n04497962",),
        "vestry": ("n04532504",),
        "vineyard": ("n04536038",),
        "volleyball_court_outdoor": ("n04540153",),
        "watering_hole": (),  # WordNet's watering hole is a spa
        "workshop": ("n04603081",),
        "wrestling_ring_indoor": ("n04607141",),
        "yard": ("n04610879",),
        "ziggurat": ("n04614655",),
    },
}
# the datasets whose every class was checked (a class missing from CLASS_SYNSETS has no synset); their class
# lists come from these built-in protocols (seen + unseen)

# ---- generated by derive_overlaps() (WordNet 3.0 + timm's class lists); do not edit by hand ----------------
OVERLAPS: dict[str, dict[str, dict[str, str]]] = {
    "imagenet-1k": {
        "awa2": {
            "antelope": "n02422106 n02422699 n02423022",
            "killer+whale": "n02071294",
            "beaver": "n02363005",
            "dalmatian": "n02110341",
            "persian+cat": "n02123394",
            "horse": "n02389026",
            "german+shepherd": "n02106662",
            "siamese+cat": "n02123597",
            "skunk": "n02445715",
            "tiger": "n02129604",
            "hippopotamus": "n02398521",
            "leopard": "n02128385",
            "spider+monkey": "n02493793",
            "elephant": "n02504013 n02504458",
            "gorilla": "n02480855",
            "ox": "n02403003",
            "fox": "n02119022 n02119789 n02120079 n02120505",
            "sheep": "n02412080",
            "seal": "n02077923",
            "chimpanzee": "n02481823",
            "hamster": "n02342885",
            "squirrel": "n02356798",
            "rabbit": "n02325366 n02328150",
            "wolf": "n02114367 n02114548 n02114712 n02114855",
            "chihuahua": "n02085620",
            "weasel": "n02441942",
            "otter": "n02444819",
            "buffalo": "n02408429",
            "zebra": "n02391049",
            "giant+panda": "n02510455",
            "pig": "n02395406",
            "lion": "n02129165",
            "polar+bear": "n02134084",
            "collie": "n02106030",
            "dolphin": "n02071294",
        },
        "cifar10": {
            "airplane": "n02690373",
            "automobile": (
                "n02701002 n02814533 n02930766 n03100240 n03594945 n03670208 n03770679 n03777568 n04037443 n04285008"
            ),
            "bird": (
                "n01514668 n01514859 n01518878 n01530575 n01531178 n01532829 n01534433 n01537544 n01558993 "
                "n01560419 n01580077 n01582220 n01592084 n01601694 n01608432 n01614925 n01616318 n01622779 "
                "n01795545 n01796340 n01797886 n01798484 n01806143 n01806567 n01807496 n01817953 n01818515 "
                "n01819313 n01820546 n01824575 n01828970 n01829413 n01833805 n01843065 n01843383 n01847000 "
                "n01855032 n01855672 n01860187 n02002556 n02002724 n02006656 n02007558 n02009229 n02009912 "
                "n02011460 n02012849 n02013706 n02017213 n02018207 n02018795 n02025239 n02027492 n02028035 "
                "n02033041 n02037110 n02051845 n02056570 n02058221"
            ),
            "cat": "n02123045 n02123159 n02123394 n02123597 n02124075",
            "dog": (
                "n02085620 n02085782 n02085936 n02086079 n02086240 n02086646 n02086910 n02087046 n02087394 "
                "n02088094 n02088238 n02088364 n02088466 n02088632 n02089078 n02089867 n02089973 n02090379 "
                "n02090622 n02090721 n02091032 n02091134 n02091244 n02091467 n02091635 n02091831 n02092002 "
                "n02092339 n02093256 n02093428 n02093647 n02093754 n02093859 n02093991 n02094114 n02094258 "
                "n02094433 n02095314 n02095570 n02095889 n02096051 n02096177 n02096294 n02096437 n02096585 "
                "n02097047 n02097130 n02097209 n02097298 n02097474 n02097658 n02098105 n02098286 n02098413 "
                "n02099267 n02099429 n02099601 n02099712 n02099849 n02100236 n02100583 n02100735 n02100877 "
                "n02101006 n02101388 n02101556 n02102040 n02102177 n02102318 n02102480 n02102973 n02104029 "
                "n02104365 n02105056 n02105162 n02105251 n02105412 n02105505 n02105641 n02105855 n02106030 "
                "n02106166 n02106382 n02106550 n02106662 n02107142 n02107312 n02107574 n02107683 n02107908 "
                "n02108000 n02108089 n02108422 n02108551 n02108915 n02109047 n02109525 n02109961 n02110063 "
                "n02110185 n02110341 n02110627 n02110806 n02110958 n02111129 n02111277 n02111500 n02111889 "
                "n02112018 n02112137 n02112350 n02112706 n02113023 n02113186 n02113624 n02113712 n02113799 "
                "n02113978"
            ),
            "frog": "n01641577 n01644373 n01644900",
            "horse": "n02389026",
            "ship": "n02687172 n03095699 n03673027 n03947888 n04347754 n04606251",
            "truck": "n03345487 n03417042 n03770679 n03796401 n03930630 n03977966 n04461696 n04467665",
        },
        "cub": {
            "014.Indigo_Bunting": "n01537544",
            "048.European_Goldfinch": "n01531178",
            "090.Red_breasted_Merganser": "n01855032",
        },
        "sun": {
            "church_indoor": "n03028079",
            "monastery_outdoor": "n03781244",
            "mosque_indoor": "n03788195",
            "theater_indoor_seats": "n03032252 n03529860",
        },
    },
    "imagenet-21k": {
        "awa2": {
            "antelope": "n02419796",
            "grizzly+bear": "n02132580",
            "killer+whale": "n02071294",
            "beaver": "n02363005",
            "dalmatian": "n02110341",
            "persian+cat": "n02123394",
            "horse": "n02374451",
            "german+shepherd": "n02106662",
            "blue+whale": "n02064816",
            "siamese+cat": "n02123597",
            "skunk": "n02445715",
            "mole": "n01889520",
            "tiger": "n02129604",
            "hippopotamus": "n02398521",
            "leopard": "n02128385",
            "moose": "n02432983",
            "spider+monkey": "n02493793",
            "humpback+whale": "n02065726",
            "elephant": "n02503517",
            "gorilla": "n02480855",
            "ox": "n02403003",
            "fox": "n02118333",
            "sheep": "n02411705",
            "seal": "n02076196",
            "chimpanzee": "n02481823",
            "hamster": "n02342885",
            "squirrel": "n02355227",
            "rhinoceros": "n02391994",
            "rabbit": "n02324045",
            "bat": "n02139199",
            "giraffe": "n02439033",
            "wolf": "n02114100",
            "chihuahua": "n02085620",
            "rat": "n02331046",
            "weasel": "n02441942",
            "otter": "n02444819",
            "buffalo": "n02407959",
            "zebra": "n02391049",
            "giant+panda": "n02510455",
            "deer": "n02430045",
            "bobcat": "n02127482",
            "pig": "n02395406",
            "lion": "n02129165",
            "mouse": "n02330245",
            "polar+bear": "n02134084",
            "collie": "n02106030",
            "walrus": "n02081571",
            "raccoon": "n02508021",
            "cow": "n02403454",
            "dolphin": "n02068974",
        },
        "cifar10": {
            "airplane": "n02691156",
            "automobile": "n02958343",
            "bird": "n01503061",
            "cat": "n02121808",
            "deer": "n02430045",
            "dog": "n02084071",
            "frog": "n01639765",
            "horse": "n02374451",
            "ship": "n04194289",
            "truck": "n04490091",
        },
        "cub": {
            "001.Black_footed_Albatross": "n02058747",
            "010.Red_winged_Blackbird": "n01575401",
            "011.Rusty_Blackbird": "n01574801",
            "013.Bobolink": "n01573898",
            "014.Indigo_Bunting": "n01537544",
            "017.Cardinal": "n01541386",
            "019.Gray_Catbird": "n01587526",
            "020.Yellow_breasted_Chat": "n01569971",
            "021.Eastern_Towhee": "n01542168",
            "022.Chuck_will_Widow": "n01835918",
            "028.Brown_Creeper": "n01589718",
            "029.American_Crow": "n01579149",
            "031.Black_billed_Cuckoo": "n01823740",
            "035.Purple_Finch": "n01533000",
            "036.Northern_Flicker": "n01839750 n01840120",
            "041.Scissor_tailed_Flycatcher": "n01555305",
            "042.Vermilion_Flycatcher": "n01550172",
            "044.Frigatebird": "n02052775",
            "045.Northern_Fulmar": "n02060133",
            "047.American_Goldfinch": "n01532325",
            "048.European_Goldfinch": "n01531178",
            "050.Eared_Grebe": "n02050586",
            "052.Pied_billed_Grebe": "n02051059",
            "055.Evening_Grosbeak": "n01540566",
            "056.Pine_Grosbeak": "n01541102",
            "058.Pigeon_Guillemot": "n02047045",
            "062.Herring_Gull": "n02042046",
            "063.Ivory_Gull": "n02042472",
            "073.Blue_Jay": "n01580870",
            "076.Dark_eyed_Junco": "n01534582",
            "078.Gray_Kingbird": "n01549053",
            "079.Belted_Kingfisher": "n01828096",
            "087.Mallard": "n01847806",
            "088.Western_Meadowlark": "n01573360",
            "089.Hooded_Merganser": "n01855476",
            "090.Red_breasted_Merganser": "n01855032",
            "091.Mockingbird": "n01586941",
            "093.Clark_Nutcracker": "n01581984",
            "094.White_breasted_Nuthatch": "n01591301",
            "095.Baltimore_Oriole": "n01572489",
            "097.Orchard_Oriole": "n01572782",
            "099.Ovenbird": "n01570267",
            "101.White_Pelican": "n02052204",
            "102.Western_Wood_Pewee": "n01549641",
            "105.Whip_poor_Will": "n01836087",
            "106.Horned_Puffin": "n02048115",
            "107.Common_Raven": "n01579260",
            "109.American_Redstart": "n01568294",
            "110.Geococcyx": "n01824035",
            "111.Loggerhead_Shrike": "n01599556",
            "112.Great_Grey_Shrike": "n01599159",
            "116.Chipping_Sparrow": "n01536035",
            "118.House_Sparrow": "n01539925",
            "119.Field_Sparrow": "n01536186",
            "129.Song_Sparrow": "n01536644",
            "130.Tree_Sparrow": "n01536334",
            "131.Vesper_Sparrow": "n01535140",
            "132.White_crowned_Sparrow": "n01535690",
            "133.White_throated_Sparrow": "n01535469",
            "135.Bank_Swallow": "n01596273",
            "136.Barn_Swallow": "n01594787",
            "137.Cliff_Swallow": "n01594968",
            "138.Tree_Swallow": "n01595450",
            "139.Scarlet_Tanager": "n01597737",
            "140.Summer_Tanager": "n01598074",
            "148.Green_tailed_Towhee": "n01542433",
            "149.Brown_Thrasher": "n01588002",
            "152.Blue_headed_Vireo": "n01603152",
            "154.Red_eyed_Vireo": "n01602832",
            "163.Cape_May_Warbler": "n01568720",
            "171.Myrtle_Warbler": "n01569423",
            "180.Wilson_Warbler": "n01567879",
            "182.Yellow_Warbler": "n01568892",
            "185.Bohemian_Waxwing": "n01603953",
            "186.Cedar_Waxwing": "n01603812",
            "191.Red_headed_Woodpecker": "n01840775",
            "192.Downy_Woodpecker": "n01839330",
            "194.Cactus_Wren": "n01586374",
            "195.Carolina_Wren": "n01586020",
            "196.House_Wren": "n01584853",
            "197.Marsh_Wren": "n01585121",
            "198.Rock_Wren": "n01585715",
            "199.Winter_Wren": "n01584695",
            "200.Common_Yellowthroat": "n01570839",
        },
        "sun": {
            "archive": "n03005147",
            "arena_basketball": "n02802544",
            "artists_loft": "n02746683",
            "auditorium": "n02758134",
            "ballroom": "n02783324",
            "bank_vault": "n04523831",
            "batting_cage_outdoor": "n02811059",
            "bazaar_indoor": "n02813544",
            "bazaar_outdoor": "n02813645",
            "betting_shop": "n02833140",
            "bow_window_indoor": "n02813399",
            "brewery_indoor": "n02897389 n03758992",
            "casino_outdoor": "n02977936",
            "cemetery": "n08521623",
            "church_indoor": "n03028079",
            "corral": "n03124590",
            "elevator_interior": "n02960352",
            "exhibition_hall": "n03303831",
            "field_cultivated": "n03417749 n03963645 n08571642 n08579352",
            "galley": "n03412220 n03412387",
            "geodesic_dome_indoor": "n03435593",
            "hangar_indoor": "n02687821",
            "hotel_room": "n03542860",
            "jacuzzi_indoor": "n03543603",
            "monastery_outdoor": "n03781244",
            "mosque_indoor": "n03788195",
            "motel": "n03788498",
            "nightclub": "n02931417",
            "observatory_outdoor": "n03839671",
            "playground": "n03963645",
            "promenade_deck": "n03549732",
            "pub_indoor": "n04018399",
            "rectory": "n03892557",
            "ski_resort": "n08652376",
            "theater_indoor_seats": "n04417809",
            "ticket_booth": "n02885882",
            "tundra": "n09463226",
            "tunnel_road_outdoor": "n02981024 n04048441",
            "vestry": "n04532504",
            "workshop": "n02840515 n02870772 n03260206 n04124488 n04192361 n04500390",
            "yard": "n03417749 n03963645",
            "ziggurat": "n04614655",
        },
    },
}
# ---- end of generated table ------------------------------------------------------------------------------
