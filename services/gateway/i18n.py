"""The portal pages' message catalogue: French (default) and English. ``translate(lang, key, **values)``."""
from __future__ import annotations

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"


def language_or_default(value: str) -> str:
    """``value`` when it is one of the portal's languages, else the default (where a bad one must not 404)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE

# key: (French, English)
MESSAGES: dict[str, tuple[str, str]] = {
    # ---- frame -------------------------------------------------------------------------------------------------
    "site.name": ("Portail B2B Fournisseurs", "B2B Supplier Portal"),
    "site.skip": ("Aller au contenu", "Skip to content"),
    "site.switch": ("English", "Français"),
    "site.switch_label": ("Read this page in English", "Lire cette page en français"),
    "nav.label": ("Navigation principale", "Main navigation"),
    "nav.home": ("Accueil", "Home"),
    "nav.access": ("Obtenir un accès", "Get access"),
    "nav.company": ("Présenter votre société", "Present your company"),
    "nav.login": ("Connexion", "Log in"),
    "nav.contact": ("Aide & Contact", "Help & Contact"),
    "nav.account": ("Mon compte", "My account"),
    "nav.admin": ("Console ASL", "ASL console"),
    "nav.logout": ("Déconnexion", "Log out"),
    "footer.help": ("Aide", "Help"),
    "footer.about": ("En savoir plus", "Learn more"),
    "footer.blocked": ("Accès bloqué", "Blocked access"),
    "form.required": ("obligatoire", "required"),
    "form.optional": ("facultatif", "optional"),
    "form.errors_title": ("Le formulaire contient des erreurs :", "The form has errors:"),
    "form.csrf": ("Le formulaire a expiré. Vérifiez vos saisies et envoyez-le à nouveau.",
                  "The form has expired. Check what you typed and send it again."),
    "form.invalid": ("valeur refusée", "value refused"),
    "desc.required": ("obligatoire", "required"),
    "desc.email": ("adresse e-mail non valide", "not a valid e-mail address"),
    "desc.phone": ("numéro de téléphone non valide (chiffres, + au début, espaces, points ou tirets)",
                   "not a valid phone number (digits, leading +, spaces, dots or dashes)"),
    "desc.country": ("code pays ISO à deux lettres attendu, par exemple FR",
                     "a two-letter ISO country code is expected, e.g. FR"),
    "prefix.signatory": ("Signataire", "Signatory"),
    "prefix.administrator": ("Futur ASL", "Future ASL"),
    "error.title": ("Une erreur est survenue", "Something went wrong"),
    "error.RATE_LIMITED": ("Trop de demandes. Réessayez dans quelques minutes.",
                           "Too many requests. Please try again in a few minutes."),
    "error.RESOURCE_EXHAUSTED": ("Trop de demandes. Réessayez plus tard.", "Too many requests. Please try again later."),
    "error.UNAVAILABLE": ("Le service est momentanément indisponible. Réessayez dans un instant.",
                          "The service is temporarily unavailable. Please try again shortly."),
    "error.INVALID_CREDENTIALS": ("Identifiant ou mot de passe incorrect.", "Wrong identifier or password."),
    "error.ACCOUNT_BLOCKED": ("Votre compte est bloqué.", "Your account is blocked."),
    "error.ACCOUNT_DISABLED": ("Votre compte est désactivé. Contactez votre ASL.",
                               "Your account is disabled. Contact your ASL."),
    "error.COMPANY_ACCESS_CLOSED": ("L'accès de votre société au portail est fermé. Contactez le support.",
                                    "Your company's access to the portal is closed. Contact support."),
    "error.TEMPORARY_PASSWORD_EXPIRED": (
        "Votre mot de passe temporaire a expiré. Demandez-en un nouveau à votre ASL.",
        "Your temporary password has expired. Ask your ASL for a new one."),
    "error.DUNS_ALREADY_PRESENTED": (
        "Un dossier confirmé existe déjà pour ce D-U-N-S ; la personne qui l'a ouvert en est informée. Si ce "
        "n'est pas quelqu'un de votre société, contactez le support : les Achats peuvent écarter ce dossier.",
        "A confirmed file already exists for this D-U-N-S; the person who opened it has been told. If that is not "
        "someone of your company, contact support: Purchasing can set that file aside."),
    "error.PRESENTATION_EXPIRED": ("Ce dossier a été abandonné : ouvrez-en un nouveau.",
                                   "This file was dropped: open a new one."),
    "error.ACCESS_ALREADY_REQUESTED": ("L'accès de cette société est déjà accordé ou en cours d'ouverture.",
                                       "This company's access is already granted or being opened."),
    "error.PASSWORD_CHANGE_REQUIRED": ("Changez d'abord votre mot de passe temporaire.",
                                       "Change your temporary password first."),
    "error.ACCOUNT_CLOSED": ("Ce compte a été fermé lors de la réinitialisation de l'accès de la société : créez-en "
                             "un nouveau.",
                             "This account was closed when the company's access was reset: create a new one."),
    "error.LAST_ACTIVE_ADMINISTRATOR": ("La société doit garder au moins un ASL actif.",
                                 "The company must keep at least one active ASL."),
    "error.generic": ("La demande n'a pas abouti.", "The request did not go through."),
    "error.not_found": ("Page introuvable.", "Page not found."),
    # ---- field labels -------------------------------------------------------------------------------------------
    "f.cofor": ("COFOR (code fournisseur)", "COFOR (supplier code)"),
    "f.site_code": ("Code site", "Site code"),
    "f.given_name": ("Prénom", "Given name"),
    "f.family_name": ("Nom", "Family name"),
    "f.email": ("Adresse e-mail", "E-mail address"),
    "f.phone": ("Téléphone", "Phone"),
    "f.job_title": ("Fonction", "Job title"),
    "f.language": ("Langue des e-mails", "Language of the e-mails"),
    "f.duns": ("Numéro D-U-N-S", "D-U-N-S number"),
    "f.legal_name": ("Raison sociale", "Legal name"),
    "f.national_registration_number": ("Numéro d'immatriculation (SIREN…)", "National registration number"),
    "f.tax_number": ("Numéro de TVA", "Tax number"),
    "f.country_code": ("Pays d'immatriculation (code ISO, ex. FR)", "Country of registration (ISO code, e.g. FR)"),
    "f.legal_existence_proof_ref": ("Référence du justificatif d'existence légale (Kbis…)",
                                    "Reference of the proof of legal existence"),
    "f.head_office_address.lines": ("Adresse du siège (rue)", "Head-office address (street)"),
    "f.head_office_address.postal_code": ("Code postal", "Postal code"),
    "f.head_office_address.city": ("Ville", "City"),
    "f.head_office_address.country_code": ("Pays du siège (code ISO)", "Head-office country (ISO code)"),
    "f.identifier": ("Identifiant V", "V-identifier"),
    "f.password": ("Mot de passe", "Password"),
    "f.current_password": ("Mot de passe actuel", "Current password"),
    "f.new_password": ("Nouveau mot de passe", "New password"),
    "f.confirm_password": ("Confirmez le nouveau mot de passe", "Confirm the new password"),
    "f.message": ("Message pour votre ASL", "Message to your ASL"),
    "f.category": ("Catégorie", "Category"),
    "f.subject": ("Objet", "Subject"),
    "f.text": ("Votre demande", "Your request"),
    "f.name": ("Nom et prénom", "Full name"),
    "f.company": ("Société", "Company"),
    "f.screenshot": ("Capture d'écran (PNG ou JPEG, 5 Mo maximum)", "Screenshot (PNG or JPEG, at most 5 MB)"),
    "f.administrator": ("Donner le rôle ASL", "Give the ASL role"),
    "lang.fr": ("Français", "French"),
    "lang.en": ("Anglais", "English"),
    # ---- home & about --------------------------------------------------------------------------------------------
    "home.title": ("Bienvenue sur le Portail B2B Fournisseurs", "Welcome to the B2B Supplier Portal"),
    "home.intro": (
        "Le portail B2B est la porte d'entrée des fournisseurs du groupe : commandes, logistique, qualité, "
        "facturation. Chaque collaborateur s'y connecte avec son identifiant V personnel, créé par l'ASL "
        "(administrateur sécurité local) de sa société.",
        "The B2B portal is the group's suppliers' front door: orders, logistics, quality, invoicing. Each "
        "employee logs in with a personal V-identifier, created by their company's ASL (local security "
        "administrator)."),
    "home.new": ("Nouveau fournisseur ?", "New supplier?"),
    "home.new_text": ("Présentez votre société aux Achats pour obtenir un COFOR (code fournisseur).",
                      "Present your company to Purchasing to get a COFOR (supplier code)."),
    "home.access": ("Votre société a un COFOR ?", "Your company has a COFOR?"),
    "home.access_text": ("Vérifiez où en est l'accès de votre société au portail et faites la demande.",
                         "Check where your company's portal access stands and request it."),
    "home.login": ("Vous avez un identifiant V ?", "You have a V-identifier?"),
    "home.login_text": ("Connectez-vous. Identifiant ou mot de passe perdu ? Nous vous aidons.",
                        "Log in. Lost your identifier or password? We can help."),
    "home.help": ("Besoin d'aide ?", "Need help?"),
    "home.help_text": ("Consultez l'aide ou écrivez au support.", "Read the help or write to support."),
    "about.title": ("En savoir plus sur le portail", "Learn more about the portal"),
    "about.text": (
        "Le portail ouvre l'accès d'une société en quatre étapes : présentation de la société et attribution "
        "d'un COFOR par les Achats, demande d'accès avec un signataire et un futur ASL, acceptation des "
        "Conditions Générales d'Utilisation par le signataire, puis création des comptes par l'ASL.",
        "The portal opens a company's access in four steps: the company is presented and Purchasing gives it "
        "a COFOR, access is requested with a signatory and a future ASL, the signatory accepts the General "
        "Terms of Use, then the ASL creates the accounts."),
    # ---- get access ---------------------------------------------------------------------------------------------
    "access.title": ("Obtenir un accès au portail", "Get access to the portal"),
    "access.intro": ("Saisissez le COFOR de votre société : le portail vous dit où en est son accès et quoi faire.",
                     "Type your company's COFOR: the portal tells you where its access stands and what to do."),
    "access.cofor_hint": ("6 caractères, par exemple 12345A, éventuellement suivis du code site.",
                          "6 characters, e.g. 12345A, optionally followed by the site code."),
    "access.site_hint": ("Laissez vide pour le siège.", "Leave empty for the head office."),
    "access.analyze": ("Analyser", "Analyse"),
    "access.unknown_cofor": ("Je ne connais pas le COFOR de ma société", "I don't know my company's COFOR"),
    "access.result_title": ("Résultat de l'analyse", "Analysis result"),
    "access.analysed": ("COFOR analysé : {cofor}", "COFOR analysed: {cofor}"),
    "access.next": ("Étape suivante", "Next step"),
    "access.again": ("Analyser un autre COFOR", "Analyse another COFOR"),
    "access.admins": ("ASL de votre société :", "Your company's ASL:"),
    "access.analyze_head_office": ("Analyser le siège ({cofor})", "Analyse the head office ({cofor})"),
    "access.present": ("Présenter votre société", "Present your company"),
    "access.contact_support": ("Contacter le support", "Contact support"),
    "access.resend": ("Renvoyer le lien au signataire", "Send the link to the signatory again"),
    "access.resent_title": ("Nouveau lien envoyé", "New link sent"),
    "access.resent": ("Un nouveau lien d'acceptation a été envoyé au signataire. L'ancien lien ne fonctionne plus.",
                      "A new acceptance link has been sent to the signatory. The old link no longer works."),
    "outcome.INVALID_COFOR": (
        "Ce COFOR n'existe pas ou est mal saisi.",
        "This COFOR does not exist or is mistyped."),
    "outcome.INVALID_COFOR.next": (
        "Vérifiez votre saisie. Si votre société n'a pas encore de COFOR, présentez-la aux Achats. En cas de "
        "doute, demandez au support de vérifier.",
        "Check what you typed. If your company has no COFOR yet, present it to Purchasing. If in doubt, ask "
        "support to check."),
    "outcome.SUPPLIER_DEACTIVATED": (
        "Cette société n'est plus référencée comme fournisseur actif.",
        "This company is no longer referenced as an active supplier."),
    "outcome.SUPPLIER_DEACTIVATED.next": (
        "Contactez votre acheteur. Une nouvelle société (nouveau D-U-N-S) doit être présentée à nouveau et "
        "recevra un nouveau COFOR.",
        "Contact your buyer. A new company (new D-U-N-S) must be presented again and will get a new COFOR."),
    "outcome.SITE_NOT_ELIGIBLE": (
        "L'accès au portail s'ouvre uniquement pour le siège de la société, pas pour ce site.",
        "Portal access is only opened for the company's head office, not for this site."),
    "outcome.SITE_NOT_ELIGIBLE.next": (
        "Analysez le COFOR du siège.", "Analyse the head office's COFOR."),
    "outcome.ACCESS_NOT_REQUESTED": (
        "Votre société est référencée, mais aucun accès au portail n'a encore été demandé.",
        "Your company is referenced, but no portal access has been requested yet."),
    "outcome.ACCESS_NOT_REQUESTED.next": (
        "Demandez l'accès en désignant deux personnes : le signataire, qui accepte les Conditions Générales "
        "d'Utilisation au nom de la société, et l'ASL, qui gérera les comptes des collaborateurs.",
        "Request access by naming two people: the signatory, who accepts the General Terms of Use for the "
        "company, and the ASL, who will manage the employees' accounts."),
    "outcome.ACCESS_REQUEST_UNDER_REVIEW": (
        "L'accès a été demandé ; le service Achats vérifie le signataire avant d'envoyer le lien d'acceptation "
        "des Conditions Générales d'Utilisation.",
        "Access has been requested; Purchasing checks the signatory before the acceptance link of the General "
        "Terms of Use is sent."),
    "outcome.ACCESS_REQUEST_UNDER_REVIEW.next": (
        "Rien à faire : le service Achats répond sous quelques jours. Le lien n'est jamais envoyé qu'à la "
        "personne que les Achats ont enregistrée comme habilitée à engager la société.",
        "Nothing to do: Purchasing answers within a few days. The link is only ever sent to the person Purchasing "
        "has recorded as entitled to commit the company."),
    "outcome.TERMS_PENDING": (
        "L'accès a été demandé ; le signataire n'a pas encore accepté les Conditions Générales d'Utilisation.",
        "Access has been requested; the signatory has not yet accepted the General Terms of Use."),
    "outcome.TERMS_PENDING.next": (
        "Le signataire enregistré de la société doit ouvrir le lien reçu par e-mail. Lien perdu ou expiré ? "
        "Renvoyez-le : il repart toujours vers cette même personne.",
        "The company's recorded signatory must open the link received by e-mail. Link lost or expired? Send it "
        "again: it always goes to that same person."),
    "outcome.ADMINISTRATOR_PENDING": (
        "Les Conditions Générales d'Utilisation sont acceptées ; le compte de l'ASL est en cours de création.",
        "The General Terms of Use are accepted; the ASL's account is being created."),
    "outcome.ADMINISTRATOR_PENDING.next": (
        "Patientez quelques minutes : l'ASL va recevoir son identifiant V et son mot de passe temporaire par "
        "e-mail.",
        "Please wait a few minutes: the ASL will receive their V-identifier and temporary password by e-mail."),
    "outcome.ACCESS_SUSPENDED": (
        "L'accès de votre société au portail est suspendu.",
        "Your company's access to the portal is suspended."),
    "outcome.ACCESS_SUSPENDED.next": (
        "Contactez le support pour le faire rétablir.", "Contact support to have it restored."),
    "outcome.ACCESS_OPEN": (
        "L'accès de votre société au portail est ouvert.", "Your company's access to the portal is open."),
    "outcome.ACCESS_OPEN.next": (
        "Demandez à l'ASL de votre société de vous créer un identifiant V personnel.",
        "Ask your company's ASL to create a personal V-identifier for you."),
    "request.title": ("Demande d'accès", "Access request"),
    "request.signatory": ("Le signataire des CGU", "The GTU signatory"),
    "request.signatory_hint": (
        "Le représentant légal indiqué dans le dossier de la société. Le lien d'acceptation n'est envoyé qu'à la "
        "personne que les Achats ont enregistrée : si vous en nommez une autre, les Achats vérifient d'abord.",
        "The legal representative given in the company file. The acceptance link is only sent to the person "
        "Purchasing has recorded: if you name someone else, Purchasing checks first."),
    "request.administrator": ("Le futur ASL (administrateur sécurité local)",
                              "The future ASL (local security administrator)"),
    "request.administrator_hint": ("Cette personne créera les comptes de vos collaborateurs.",
                                   "This person will create your employees' accounts."),
    "request.send": ("Envoyer la demande", "Send the request"),
    "request.sent_title": ("Demande envoyée", "Request sent"),
    "request.sent": ("Votre demande est enregistrée. Le lien d'acceptation des Conditions Générales d'Utilisation "
                     "n'est envoyé qu'à la personne que les Achats ont enregistrée comme habilitée à engager la "
                     "société (valable 7 jours) ; si la demande en nomme une autre, les Achats la vérifient "
                     "d'abord.",
                     "Your request is recorded. The acceptance link of the General Terms of Use is only sent to the "
                     "person Purchasing has recorded as entitled to commit the company (valid 7 days); if the "
                     "request names someone else, Purchasing checks it first."),
    "request.replace_title": ("Cette demande n'est pas la vôtre ?", "This request is not yours?"),
    "request.replace_hint": ("Déposez la vôtre : elle s'ajoute à celle en attente sans l'annuler ; le signataire "
                             "de la société accepte celle qu'il reconnaît.",
                             "File yours: it joins the waiting one without cancelling it; the company's signatory "
                             "accepts the one they recognise."),
    # ---- terms --------------------------------------------------------------------------------------------------
    "terms.title": ("Acceptation des Conditions Générales d'Utilisation", "Acceptance of the General Terms of Use"),
    "terms.company": ("Société", "Company"),
    "terms.cofor": ("COFOR du siège", "Head-office COFOR"),
    "terms.signatory": ("Signataire", "Signatory"),
    "terms.version": ("Version des CGU", "GTU version"),
    "terms.expires": ("Lien valable jusqu'au", "Link valid until"),
    "terms.text_title": ("Conditions Générales d'Utilisation — texte intégral", "General Terms of Use — full text"),
    "terms.nominee": ("ASL désigné(e) par la demande", "ASL nominated by the request"),
    "terms.nominee_hint": ("En acceptant, vous confirmez aussi cette désignation : cette personne gérera tous les "
                           "comptes de la société sur le portail. Si vous ne la connaissez pas, n'acceptez pas.",
                           "By accepting you also confirm this nomination: this person will manage every portal "
                           "account of the company. If you do not know them, do not accept."),
    "terms.requested_from": ("Demande faite depuis", "Request made from"),
    "terms.requested_at": ("le {time}", "on {time}"),
    "terms.not_expected": ("Vous n'attendiez pas cette demande ? N'acceptez pas et prévenez le support.",
                           "Not expecting this request? Do not accept, and tell support."),
    "terms.unavailable": ("Le texte de cette version des CGU n'est pas disponible ; réessayez plus tard.",
                          "The text of this GTU version is not available; please try again later."),
    "terms.accept": ("J'accepte les CGU au nom de la société", "I accept the GTU for the company"),
    "terms.invalid_title": ("Ce lien n'est plus valable", "This link is no longer valid"),
    "terms.link.EXPIRED": ("Le lien a expiré.", "The link has expired."),
    "terms.link.VOIDED": ("Un lien plus récent a été envoyé ; celui-ci ne fonctionne plus.",
                          "A newer link has been sent; this one no longer works."),
    "terms.link.USED": ("Les CGU ont déjà été acceptées avec ce lien.", "The GTU have already been accepted with "
                                                                        "this link."),
    "terms.link.UNKNOWN": ("Ce lien est inconnu.", "This link is unknown."),
    "terms.link_next": ("Vous pouvez demander un nouveau lien depuis la page « Obtenir un accès ».",
                        "You can ask for a new link on the \"Get access\" page."),
    "terms.done_title": ("Conditions acceptées", "Terms accepted"),
    "terms.done": ("Merci. L'ASL de {company} va recevoir son identifiant V et un mot de passe temporaire par "
                   "e-mail, dans deux messages séparés.",
                   "Thank you. The ASL of {company} will receive their V-identifier and a temporary password by "
                   "e-mail, in two separate messages."),
    # ---- company ------------------------------------------------------------------------------------------------
    "company.title": ("Présenter votre société", "Present your company"),
    "company.intro": ("Votre société n'est pas encore fournisseur du groupe ? Ouvrez un dossier : les Achats "
                      "l'examinent et vous attribuent un COFOR.",
                      "Your company is not yet a supplier of the group? Open a file: Purchasing reviews it and "
                      "gives you a COFOR."),
    "company.email_hint": ("Vous recevrez à cette adresse le lien personnel qui seul ouvre le dossier ; ouvrez-le "
                           "dans les 24 heures.",
                           "You will receive at this address the personal link that alone opens the file; open it "
                           "within 24 hours."),
    "company.check_mail_title": ("Consultez votre messagerie", "Check your mailbox"),
    "company.check_mail": ("Si ce numéro D-U-N-S peut être présenté, un lien personnel vient d'être envoyé à "
                           "{email}. Ouvrez-le dans les 24 heures pour confirmer votre adresse et remplir le "
                           "dossier ; sans cela, le dossier est abandonné.",
                           "If this D-U-N-S number can be presented, a personal link has just been sent to "
                           "{email}. Open it within 24 hours to confirm your address and fill in the file; "
                           "otherwise the file is dropped."),
    "company.open_title": ("Ouvrir un dossier de présentation", "Open a company file"),
    "company.open_intro": ("Ce lien ouvre le dossier suivant :", "This link opens the following file:"),
    "company.open_by": ("Ouvert par", "Opened by"),
    "company.open_hint": ("Ne continuez que si ce dossier est le vôtre et que ce lien vous est parvenu dans votre "
                          "propre messagerie. Ce navigateur le gardera pour que vous puissiez le remplir.",
                          "Only go on if this file is yours and this link reached you in your own mailbox. This "
                          "browser will keep it so that you can fill it in."),
    "company.switch": ("Ce lien ouvre un autre dossier que celui sur lequel vous travaillez dans ce navigateur. "
                       "Ne continuez que si c'est bien votre lien, reçu dans votre messagerie : le dossier en "
                       "cours restera accessible par le lien de son propre e-mail.",
                       "This link opens another file than the one you are working on in this browser. Only go "
                       "on if it is your own link, received in your mailbox: the current file stays available "
                       "from the link in its own e-mail."),
    "company.switch_confirm": ("Ouvrir ce dossier", "Open this file"),
    "company.switch_cancel": ("Annuler", "Cancel"),
    "company.representative": ("Représentant légal de la société", "The company's legal representative"),
    "company.representative_hint": ("La personne habilitée à engager la société. C'est à elle seule que le portail "
                                    "enverra le lien d'acceptation des CGU : vérifiez son adresse e-mail.",
                                    "The person entitled to commit the company. The portal will send the GTU "
                                    "acceptance link to that person only: check their e-mail address."),
    "company.state.EXPIRED": ("abandonné", "dropped"),
    "company.expired": ("Ce dossier a été abandonné (lien non ouvert à temps ou dossier inactif) : ouvrez-en un "
                        "nouveau.", "This file was dropped (link not opened in time, or left untouched): open a "
                        "new one."),
    "company.duns_hint": ("9 chiffres, par exemple 123456789.", "9 digits, e.g. 123456789."),
    "company.start": ("Ouvrir le dossier", "Open the file"),
    "company.file_title": ("Dossier de {name}", "File of {name}"),
    "company.state": ("État du dossier", "File state"),
    "company.state.DRAFT": ("brouillon — à compléter", "draft — to be completed"),
    "company.state.SUBMITTED": ("envoyé aux Achats — en attente de décision", "sent to Purchasing — awaiting a decision"),
    "company.state.REFERENCED": ("référencé", "referenced"),
    "company.state.REJECTED": ("refusé", "rejected"),
    "company.missing": ("Champs encore à remplir :", "Fields still to fill in:"),
    "company.complete": ("Le dossier est complet : vous pouvez l'envoyer.", "The file is complete: you can send it."),
    "company.save": ("Enregistrer", "Save"),
    "company.submit": ("Envoyer le dossier aux Achats", "Send the file to Purchasing"),
    "company.saved": ("Dossier enregistré.", "File saved."),
    "company.submitted": ("Votre dossier a été envoyé aux Achats. Vous serez informé(e) par e-mail.",
                          "Your file has been sent to Purchasing. You will be told by e-mail."),
    "company.referenced": ("Votre société est référencée avec le COFOR {cofor}. Vous pouvez maintenant demander "
                           "l'accès au portail.",
                           "Your company is referenced with COFOR {cofor}. You can now request portal access."),
    "company.rejected": ("Les Achats ont refusé le dossier : {reason}", "Purchasing rejected the file: {reason}"),
    "company.no_access": ("Ce dossier n'est accessible qu'avec le lien personnel reçu par e-mail.",
                          "This file can only be opened with the personal link received by e-mail."),
    # ---- login & password ---------------------------------------------------------------------------------------
    "login.title": ("Connexion", "Log in"),
    "login.submit": ("Se connecter", "Log in"),
    "login.lost_identifier": ("Identifiant oublié", "Lost identifier"),
    "login.lost_password": ("Mot de passe oublié", "Lost password"),
    "login.blocked": ("Mon accès est bloqué", "My access is blocked"),
    "login.identifier_hint": ("La lettre V suivie de 6 chiffres.", "The letter V followed by 6 digits."),
    "logout.done": ("Vous êtes déconnecté(e).", "You are logged out."),
    "password.title": ("Changer votre mot de passe", "Change your password"),
    "password.forced": ("Pour continuer, remplacez votre mot de passe temporaire par un mot de passe de votre choix.",
                        "To continue, replace your temporary password with one of your own."),
    "password.policy_title": ("Règles du mot de passe", "Password rules"),
    "password.policy": (
        "Entre 15 et 128 caractères, tous caractères permis (une phrase facile à retenir convient très bien) ; "
        "il ne doit contenir ni votre identifiant V, ni le COFOR de votre société, ni le début de votre adresse "
        "e-mail ; il ne doit pas être trop courant ni facile à deviner, ni être l'un de vos 5 derniers mots de "
        "passe.",
        "Between 15 and 128 characters, any characters allowed (an easy-to-remember sentence works well); it "
        "must not contain your V-identifier, your company's COFOR or your e-mail's local part; it must not be "
        "common or easy to guess, nor one of your last 5 passwords."),
    "password.hint": ("De 15 à 128 caractères.", "15 to 128 characters."),
    "password.submit": ("Changer le mot de passe", "Change the password"),
    "password.mismatch": ("Les deux saisies ne sont pas identiques.", "The two entries are not the same."),
    "password.changed": ("Votre mot de passe a été changé.", "Your password has been changed."),
    "reason.PASSWORD_TOO_SHORT": ("Trop court : 15 caractères au minimum.", "Too short: at least 15 characters."),
    "reason.PASSWORD_TOO_LONG": ("Trop long : 128 caractères au maximum.", "Too long: at most 128 characters."),
    "reason.PASSWORD_CONTAINS_IDENTIFIER": ("Ne doit pas contenir votre identifiant V.",
                                            "Must not contain your V-identifier."),
    "reason.PASSWORD_CONTAINS_COFOR": ("Ne doit pas contenir le COFOR de votre société.",
                                       "Must not contain your company's COFOR."),
    "reason.PASSWORD_CONTAINS_EMAIL": ("Ne doit pas contenir le début de votre adresse e-mail.",
                                       "Must not contain the local part of your e-mail address."),
    "reason.PASSWORD_TOO_COMMON": ("Trop courant ou trop facile à deviner.", "Too common or too easy to guess."),
    "reason.PASSWORD_RECENTLY_USED": ("Ne doit pas être l'un de vos 5 derniers mots de passe.",
                               "Must not be one of your last 5 passwords."),
    # ---- account ------------------------------------------------------------------------------------------------
    "account.title": ("Mon compte", "My account"),
    "account.identifier": ("Identifiant V", "V-identifier"),
    "account.name": ("Nom", "Name"),
    "account.company": ("Société (racine COFOR)", "Company (COFOR root)"),
    "account.roles": ("Rôles", "Roles"),
    "role.ROLE_USER": ("Utilisateur", "User"),
    "role.ROLE_ADMINISTRATOR": ("ASL (administrateur sécurité local)", "ASL (local security administrator)"),
    "account.change_password": ("Changer mon mot de passe", "Change my password"),
    # ---- recovery -----------------------------------------------------------------------------------------------
    "recover.identifier_title": ("Identifiant oublié", "Lost identifier"),
    "recover.identifier_intro": (
        "Saisissez l'adresse e-mail enregistrée pour votre compte (exactement, majuscules comprises) et le COFOR "
        "de votre société.",
        "Type the e-mail address registered for your account (exactly, capitals included) and your company's "
        "COFOR."),
    "recover.send": ("Envoyer", "Send"),
    "recover.password_title": ("Mot de passe oublié", "Lost password"),
    "recover.asl_title": ("Vous êtes ASL", "You are an ASL"),
    "recover.asl_intro": ("Recevez par e-mail un mot de passe temporaire, valable 1 heure.",
                          "Receive a temporary password by e-mail, valid for 1 hour."),
    "recover.user_title": ("Vous êtes utilisateur", "You are a user"),
    "recover.user_intro": ("Seul l'ASL de votre société peut réinitialiser votre mot de passe : envoyez-lui un "
                           "message. Vous recevrez aussi ses coordonnées par e-mail.",
                           "Only your company's ASL can reset your password: send them a message. You will "
                           "also receive their contact details by e-mail."),
    "recover.contact_asl": ("Contacter mon ASL", "Contact my ASL"),
    "recover.reset": ("Recevoir un mot de passe temporaire", "Receive a temporary password"),
    "recover.accepted_title": ("Demande prise en compte", "Request received"),
    "recover.accepted": ("Si les informations saisies correspondent à un compte, un e-mail est en route vers "
                         "l'adresse enregistrée. Pensez à vérifier vos courriers indésirables.",
                         "If the details match an account, an e-mail is on its way to the registered address. "
                         "Remember to check your spam folder."),
    # ---- blocked ------------------------------------------------------------------------------------------------
    "blocked.title": ("Accès bloqué", "Blocked access"),
    "blocked.text": (
        "Après 5 mots de passe erronés, ou si un ancien mot de passe est utilisé peu après un changement, votre "
        "compte est bloqué pour vous protéger. Le portail affiche alors simplement « identifiant ou mot de passe "
        "incorrect ».",
        "After 5 wrong passwords, or if an old password is used shortly after a change, your account is blocked "
        "to protect you. The portal then simply says \"wrong identifier or password\"."),
    "blocked.user": ("Vous êtes utilisateur : demandez à l'ASL de votre société de débloquer votre compte.",
                     "You are a user: ask your company's ASL to unlock your account."),
    "blocked.asl": ("Vous êtes ASL : demandez un mot de passe temporaire ; le changer débloque votre compte.",
                    "You are an ASL: ask for a temporary password; changing it unlocks your account."),
    # ---- help & contact -----------------------------------------------------------------------------------------
    "contact.title": ("Aide & Contact", "Help & Contact"),
    "contact.intro": ("Consultez d'abord l'aide ; si elle ne répond pas à votre question, écrivez au support.",
                      "Read the help first; if it does not answer your question, write to support."),
    "contact.help_link": ("Consulter l'aide", "Read the help"),
    "contact.form_title": ("Écrire au support", "Write to support"),
    "contact.send": ("Envoyer la demande", "Send the request"),
    "contact.done_title": ("Demande envoyée", "Request sent"),
    "contact.done": ("Votre demande est enregistrée sous la référence {reference}. Un accusé de réception vous "
                     "a été envoyé par e-mail.",
                     "Your request is recorded under reference {reference}. An acknowledgement has been sent to "
                     "you by e-mail."),
    "category.UNKNOWN_COFOR": ("Je ne connais pas le COFOR de ma société", "I don't know my company's COFOR"),
    "category.ACCESS_REQUEST": ("Demande d'accès au portail", "Portal access request"),
    "category.LOGIN_PROBLEM": ("Problème de connexion", "Login problem"),
    "category.BLOCKED_ACCOUNT": ("Compte bloqué", "Blocked account"),
    "category.COMPANY_PRESENTATION": ("Présentation de ma société", "Presenting my company"),
    "category.OTHER": ("Autre", "Other"),
    "help.title": ("Aide", "Help"),
    "help.section.SITE_MAP": ("Plan du site", "Site map"),
    "help.section.GUIDE": ("Guides", "Guides"),
    "help.section.FAQ": ("Questions fréquentes", "Frequently asked questions"),
    "help.related": ("Voir aussi", "See also"),
    "help.back": ("Toute l'aide", "All help"),
    # ---- ASL console --------------------------------------------------------------------------------------------
    "admin.title": ("Console ASL", "ASL console"),
    "admin.users": ("Comptes de la société {cofor}", "Accounts of company {cofor}"),
    "admin.col.identifier": ("Identifiant", "Identifier"),
    "admin.col.name": ("Nom", "Name"),
    "admin.col.email": ("E-mail", "E-mail"),
    "admin.col.roles": ("Rôles", "Roles"),
    "admin.col.state": ("État", "State"),
    "admin.col.actions": ("Actions", "Actions"),
    "state.ACCOUNT_STATE_ACTIVE": ("actif", "active"),
    "state.ACCOUNT_STATE_BLOCKED": ("bloqué", "blocked"),
    "state.ACCOUNT_STATE_DISABLED": ("désactivé", "disabled"),
    "admin.action.reset-password": ("Réinitialiser le mot de passe", "Reset the password"),
    "admin.action.unlock": ("Débloquer", "Unlock"),
    "admin.action.disable": ("Désactiver", "Disable"),
    "admin.action.enable": ("Réactiver", "Enable"),
    "admin.action.grant-administrator": ("Nommer ASL", "Make ASL"),
    "admin.action.revoke-administrator": ("Retirer le rôle ASL", "Remove the ASL role"),
    "admin.done.reset-password": ("Un mot de passe temporaire a été envoyé à {user}.",
                                  "A temporary password has been sent to {user}."),
    "admin.done.unlock": ("{user} est débloqué.", "{user} is unlocked."),
    "admin.done.disable": ("{user} est désactivé.", "{user} is disabled."),
    "admin.done.enable": ("{user} est réactivé.", "{user} is enabled."),
    "admin.done.grant-administrator": ("{user} est maintenant ASL.", "{user} is now an ASL."),
    "admin.done.revoke-administrator": ("{user} n'est plus ASL.", "{user} is no longer an ASL."),
    "admin.done.create": ("Compte {user} créé : l'identifiant et le mot de passe temporaire lui sont envoyés "
                          "par e-mail.",
                          "Account {user} created: the identifier and temporary password are sent to them by "
                          "e-mail."),
    "admin.create_title": ("Créer un compte", "Create an account"),
    "admin.create": ("Créer le compte", "Create the account"),
    "admin.for": ("pour {user}", "for {user}"),
}


def translate(lang: str, key: str, **values: object) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format(**values) if values else text


def has(key: str) -> bool:
    return key in MESSAGES
