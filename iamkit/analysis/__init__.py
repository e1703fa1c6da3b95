"""Questions asked of a whole account, answered with the engine's Decisions.

=====================  ===========================================================
``effective``          every action a principal may perform, and what decided it
``lint``               a policy checked against the catalog: unknown actions, wide grants
``least_privilege``    a policy generated from activity; permissions never used
``audit``              the credential report and the account checked for risky settings
``simulator``          AWS's SimulateCustomPolicy and SimulatePrincipalPolicy responses
=====================  ===========================================================
"""
